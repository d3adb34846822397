//! Logs a person can read (issue 18 §5): written to files and pipes, no line carries ANSI colour
//! codes; and keel started before auth does not warn about its key refresh while auth comes up.

use std::time::Duration;

use keel_e2e::{client, eventually, AppSpec, Platform};
use serde_json::json;

const ADMIN_PW: &str = "bootstrap-password-1";

#[actix_rt::test]
async fn logs_are_plain_text_and_keel_waits_quietly_for_auth() {
    let mut p = Platform::new();
    p.start(AppSpec::sidecar_only("seeder")).await;
    let routes = json!({"version": 1, "plugins": {
        "auth": {"status": "ACTIVE", "version": "1.0.0", "public_endpoints": ["v1/oauth/token"]}
    }});
    let seeded = client()
        .post(format!("{}/v1.0/state/statestore", p.dapr_url("seeder")))
        .send_json(&json!([{"key": "keel-routes", "value": routes}]))
        .await
        .unwrap();
    assert!(seeded.status().is_success());
    // keel first, with a quick refresh: every round fails until auth is there.
    let keel = AppSpec::keel().env("KEEL_ROUTES_REFRESH_MS", "300");
    let public = format!("http://{}", keel.env_value("KEEL_PUBLIC_LISTEN").unwrap());
    p.start(keel).await;
    p.start(AppSpec::bin("auth", "auth").env("KEEL_ADMIN_PASSWORD", ADMIN_PW)).await;

    // auth's token, verified by keel once its refresher has auth's keys.
    let token_url = format!("{public}/apis/auth/v1/oauth/token");
    let form = [("grant_type", "password"), ("username", "admin"), ("password", ADMIN_PW)];
    let token = eventually("a login through keel", Duration::from_secs(60), || async {
        let mut res = client().post(&token_url).send_form(&form).await.ok()?;
        let body: serde_json::Value = res.json().await.ok()?;
        body["access_token"].as_str().map(str::to_owned)
    })
    .await;
    let me = format!("{public}/apis/auth/v1/me");
    eventually("keel verifies auth's token", Duration::from_secs(60), || async {
        let res = client().get(&me).bearer_auth(&token).send().await.ok()?;
        (res.status() == 200).then_some(())
    })
    .await;

    let keel_log = p.logs("keel");
    let noisy: Vec<&str> =
        keel_log.lines().filter(|l| l.contains("WARN") && l.to_lowercase().contains("verifier")).collect();
    assert!(noisy.is_empty(), "keel warned while auth was starting: {noisy:?}");
    let all = p.all_logs();
    assert!(
        !all.contains('\u{1b}'),
        "a log line carries an escape code: {}",
        all.lines().find(|l| l.contains('\u{1b}')).unwrap_or_default()
    );
}
