//! auth's OpenAPI document, end to end (issue 18 §7): served at `/openapi.json` and through keel
//! (`/apis/auth/openapi.json`, with a token), and schemathesis, run with a platform admin's
//! token, gets a documented status for every request it generates, never a 5xx, never a hang.

mod openapi_support;
mod registry_support;

use std::time::Duration;

use keel_e2e::{client, eventually, AppSpec, Platform};
use serde_json::Value;

const ADMIN_PW: &str = "e2e-Admin-pw-4c1d";

fn public(p: &Platform) -> String {
    format!("http://{}", p.app("keel").spec.env_value("KEEL_PUBLIC_LISTEN").expect("public listen"))
}

/// Every answer a documented status, content type and body shape, and never a 5xx.
const STRICT: &str =
    "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance";

async fn fuzz(base: &str, token: &str, mode: &str) -> openapi_support::Run {
    let (base, token, mode) = (base.to_owned(), token.to_owned(), mode.to_owned());
    tokio::task::spawn_blocking(move || {
        let args = [
            "--mode",
            &mode,
            "--checks",
            STRICT,
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            "25",
        ];
        openapi_support::run(&base, &token, &args, Duration::from_secs(400))
    })
    .await
    .expect("schemathesis thread")
}

/// The end of keel's and auth's logs, for a failure's message.
fn tail(p: &Platform) -> String {
    ["keel", "auth"]
        .iter()
        .map(|id| {
            let log = p.logs(id);
            let lines: Vec<&str> = log.lines().rev().take(40).collect();
            format!("--- {id} ---\n{}", lines.into_iter().rev().collect::<Vec<_>>().join("\n"))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[actix_rt::test]
async fn auth_serves_its_openapi_document_and_schemathesis_finds_nothing() {
    let mut p = Platform::new();
    // The registry registers auth with its public endpoints, and keel routes by its table.
    registry_support::start_registry(&mut p, &[("KEEL_POLL_INTERVAL_MS", "3600000")]).await;
    p.start(AppSpec::bin("auth", "auth").env("KEEL_ADMIN_PASSWORD", ADMIN_PW)).await;
    p.start(AppSpec::keel().env("KEEL_ROUTES_REFRESH_MS", "300")).await;
    let base = format!("{}/apis/auth", public(&p));
    let token = eventually("an admin token through keel", Duration::from_secs(60), || async {
        let form = [("grant_type", "password"), ("username", "admin"), ("password", ADMIN_PW)];
        let mut res = client().post(format!("{base}/v1/oauth/token")).send_form(&form).await.ok()?;
        let body: Value = res.json().await.ok()?;
        body["access_token"].as_str().map(str::to_owned)
    })
    .await;

    let mut res = client()
        .get(format!("{base}/openapi.json"))
        .insert_header(("authorization", format!("Bearer {token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let doc: Value = res.json().limit(1 << 20).await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(client().get(format!("{base}/openapi.json")).send().await.unwrap().status().as_u16(), 401);

    // Through keel with the token, valid requests only: keel answers some malformed paths itself
    // (see plugins-manager's README, "OpenAPI").
    let run = fuzz(&base, &token, "positive").await;
    assert!(run.passed, "schemathesis through keel found problems:\n{}\n{}", run.output, tail(&p));
    // On auth's own port, valid and invalid requests alike.
    let run = fuzz(&p.app_url("auth"), &token, "all").await;
    assert!(run.passed, "schemathesis on auth's port found problems:\n{}\n{}", run.output, tail(&p));
}
