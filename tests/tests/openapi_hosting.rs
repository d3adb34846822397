//! hosting's OpenAPI document, end to end (issue 18 §7): served at `/openapi.json`, listing
//! exactly the routes the port serves (each documented method answered by a handler, every other
//! method on those paths refused), and schemathesis on hosting's app port gets a documented
//! status for every request it generates, never a 5xx, never a hang. (hosting is reached through
//! keel only once registered; its management calls there are the same handlers.)

mod hosting_support;
mod openapi_support;

use hosting_support::*;
use keel_e2e::Platform;
use serde_json::Value;
use std::time::Duration;

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

#[actix_rt::test]
async fn hosting_serves_its_openapi_document_true_to_its_routes_and_schemathesis_finds_nothing() {
    let mut p = Platform::new();
    start(&mut p, &[]).await;
    let base = p.app_url(HOSTING);

    let (status, doc) = call("GET", &format!("{base}/openapi.json"), None).await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let uri = format!("{base}{}", path.replace("{app_id}", "nope"));
        for method in METHODS {
            let documented = item.get(method.to_lowercase()).is_some();
            let (status, headers, body) = raw(method, &uri, None, &[]).await;
            let body = String::from_utf8_lossy(&body);
            let refused_method =
                (status == 404 && !headers.contains_key("x-keel-error")) || body.contains("is not served on");
            assert_eq!(!refused_method, documented, "{method} {path}: {status} {body}");
        }
    }

    let token = "no-token-on-the-app-port";
    let run = tokio::task::spawn_blocking(move || {
        let args = [
            "--mode",
            "all",
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            "30",
        ];
        openapi_support::run(&base, token, &args, Duration::from_secs(300))
    })
    .await
    .expect("schemathesis thread");
    assert!(run.passed, "schemathesis on hosting's port found problems:\n{}", run.output);
    assert_eq!(list(&p).await, Vec::<Value>::new(), "fuzzing installed nothing");
}
