//! The push API's OpenAPI document, end to end (issue 18 §7): served at
//! `/api/registry/openapi.json` on the push listener, and schemathesis, run against the listener
//! with a granted client's token, gets a documented status and content type for every request
//! it generates, never a 5xx, never a hang.

mod openapi_support;
mod push_support;

use std::time::Duration;

use keel_e2e::{AppSpec, Platform};
use push_support::*;

/// Every answer a documented status, content type and body shape, and never a 5xx.
const STRICT: &str =
    "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance";

#[actix_rt::test]
async fn the_push_api_serves_its_openapi_document_and_schemathesis_finds_nothing() {
    let mut p = Platform::new();
    p.start(AppSpec::bin("auth", "auth").env("KEEL_ADMIN_PASSWORD", "bootstrap-password-1")).await;
    let (push, _public) = platform(
        &mut p,
        None,
        None,
        &[("KEEL_PUSH__OPEN_LOOPBACK", "false"), ("KEEL_GRANTS__PUSHER", "register-plugins")],
    )
    .await;
    let token = client_token(&p, "pusher").await;

    // The document is served without a token (as the services' listing is).
    let (status, doc) = call_from(None, "GET", &format!("{push}/api/registry/openapi.json"), None)
        .await
        .map(|(s, _, v)| (s, v))
        .expect("the document");
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");

    // A body over the listener's limit is refused in the catalogue's body, as documented.
    let big = serde_json::json!({"name": "big", "description": "x".repeat(300 * 1024)});
    let (status, _, v) =
        call_from(None, "POST", &format!("{push}/api/registry/register"), Some(&big)).await.expect("answer");
    assert_eq!((status, v["code"].as_str()), (413, Some("ERR_BODY_TOO_LARGE")), "{v}");

    // Valid and invalid requests alike, with the granted client's token: registrations to
    // loopback hosts succeed, others are refused; every answer must be documented.
    let schema = format!("{push}/api/registry/openapi.json");
    let args = [
        "--mode",
        "all",
        "--checks",
        STRICT,
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        "40",
    ];
    let run = tokio::task::spawn_blocking(move || {
        openapi_support::run_schema(&schema, &push, &token, &args, Duration::from_secs(300))
    })
    .await
    .expect("schemathesis thread");
    assert!(run.passed, "schemathesis on the push API found problems:\n{}", run.output);
}
