//! With the real registry: a plugin that stops being ACTIVE is blocked by keel with 503, its
//! status and `Retry-After`, and served again as soon as it recovers, with no restart anywhere.
//! The status travels registry poll -> store and push -> keel; keel's timer is off here, so the
//! push is what delivers it.

mod router_support;

use std::time::Duration;

use keel_e2e::{client, eventually, AppSpec, Platform};
use router_support::*;
use serde_json::json;

fn registry() -> AppSpec {
    AppSpec::bin(REGISTRY, "plugins-manager")
        .env("KEEL_POLL_INTERVAL_MS", "300")
        .env("KEEL_POLL_TIMEOUT_MS", "300")
        .env("KEEL_LEASE_MS", "2000")
        .env("KEEL_IDENTIFY_TIMEOUT_MS", "2000")
        .env("KEEL_CORE_RETRY_MAX_MS", "500")
}

async fn register(p: &Platform, id: &str) {
    let url = format!("{}/v1/plugins", p.app_url(REGISTRY));
    eventually(&format!("{id} registered"), Duration::from_secs(30), || async {
        let mut res = client().post(url.as_str()).send_json(&json!({ "id": id })).await.ok()?;
        let body = res.body().await.ok()?;
        match res.status().as_u16() {
            201 | 409 => Some(()),
            other => {
                eprintln!("registering {id}: {other} {}", String::from_utf8_lossy(&body));
                None
            }
        }
    })
    .await;
}

async fn set_status(p: &Platform, id: &str, status: &str) {
    let res = client()
        .post(format!("{}/upstream/status", p.app_url(id)))
        .send_body(status.to_owned())
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
}

#[actix_rt::test]
async fn a_plugin_not_active_is_503_until_it_recovers_then_200_without_restarts() {
    let mut p = Platform::new();
    p.start(keel(&[("KEEL_ROUTES_REFRESH_MS", "3600000")])).await;
    p.start(registry()).await;
    p.start(upstream("up")).await;
    p.start(upstream("caller")).await;
    register(&p, "up").await;
    register(&p, "caller").await;
    eventually("up routable through keel", Duration::from_secs(30), || async {
        (send(call(&p, "caller", "GET", "up/x")).await.0 == 200).then_some(())
    })
    .await;

    set_status(&p, "up", "FAILED").await;
    let (headers, body) = eventually("keel blocking up", Duration::from_secs(30), || async {
        let (status, headers, body) = send(call(&p, "caller", "GET", "up/x")).await;
        (status == 503).then_some((headers, body))
    })
    .await;
    assert_eq!(headers.get("x-keel-error").unwrap(), "1");
    assert!(headers.get("retry-after").is_some(), "503 without Retry-After");
    assert_eq!(
        (body["code"].as_str(), body["status"].as_str()),
        (Some("ERR_PLUGIN_NOT_ACTIVE"), Some("FAILED"))
    );
    assert!(body["msg"].as_str().unwrap().contains("\"up\""), "{body}");

    set_status(&p, "up", "ACTIVE").await;
    eventually("up served again", Duration::from_secs(30), || async {
        (send(call(&p, "caller", "GET", "up/x")).await.0 == 200).then_some(())
    })
    .await;
}
