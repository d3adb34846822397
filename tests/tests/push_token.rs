//! Push registration with a token, as production does it: with open registration off, a service
//! registers with its client-credentials token from auth, of a client the registry grants
//! `register-plugins`; the client is then the registrant, so heartbeats and deregistration need
//! the same token. No token, a bad one or an ungranted client's is refused with nothing stored.

mod push_support;

use std::time::Duration;

use keel_e2e::{eventually, AppSpec, Platform};
use push_support::*;
use serde_json::{json, Value};

async fn with_token(method: &str, url: &str, token: Option<&str>, body: Option<&Value>) -> (u16, Value) {
    let method = awc::http::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = client_from(None).request(method, url);
    if let Some(t) = token {
        req = req.insert_header(("authorization", format!("Bearer {t}")));
    }
    let mut res = match body {
        Some(b) => req.send_json(b).await,
        None => req.send().await,
    }
    .unwrap();
    let bytes = res.body().await.unwrap();
    (res.status().as_u16(), serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[actix_rt::test]
async fn a_service_registers_heartbeats_and_deregisters_with_its_client_token() {
    let mut p = Platform::new();
    p.start(AppSpec::bin("auth", "auth").env("KEEL_ADMIN_PASSWORD", "bootstrap-password-1")).await;
    let (push, public) = platform(
        &mut p,
        None,
        None,
        &[("KEEL_PUSH__OPEN_LOOPBACK", "false"), ("KEEL_GRANTS__PUSHER", "register-plugins")],
    )
    .await;
    let (granted, ungranted) = (client_token(&p, "pusher").await, client_token(&p, "stranger").await);
    let outside = Outside::start();
    let register = format!("{push}/api/registry/register");
    let doc = body("tokened", outside.port, json!({}));

    // Without a token, open registration being off: refused, saying what to send.
    let (status, v) = with_token("POST", &register, None, Some(&doc)).await;
    assert_eq!(status, 403, "{v}");
    assert!(v["msg"].as_str().unwrap().contains("Authorization: Bearer"), "{v}");
    assert_eq!(with_token("POST", &register, Some("not-a-token"), Some(&doc)).await.0, 401);

    // The granted client's token registers, once the registry has auth's keys.
    let (status, v) = eventually("registration with the client's token", Duration::from_secs(30), || async {
        let (status, v) = with_token("POST", &register, Some(&granted), Some(&doc)).await;
        (status != 401).then_some((status, v))
    })
    .await;
    assert_eq!(status, 201, "{v}");
    // A client without the grant may not, whatever the name.
    let other = body("strangers", outside.port, json!({}));
    let (status, v) = with_token("POST", &register, Some(&ungranted), Some(&other)).await;
    assert_eq!((status, v["code"].as_str()), (403, Some("ERR_CALLER_NOT_ALLOWED")), "{v}");
    assert!(listed(&push, "strangers").await.is_none());

    // The client is the registrant: a heartbeat without its token is someone else's.
    let beat = json!({"service_id": "tokened", "status": "healthy"});
    let heartbeat = format!("{push}/api/registry/heartbeat");
    assert_eq!(with_token("POST", &heartbeat, None, Some(&beat)).await.0, 403);
    assert_eq!(with_token("POST", &heartbeat, Some(&granted), Some(&beat)).await.0, 200);
    wait_gateway(&format!("{public}/api/tokened/hello"), 200).await;

    let deregister = format!("{push}/api/registry/deregister/tokened");
    assert_eq!(with_token("POST", &deregister, None, None).await.0, 403);
    assert_eq!(with_token("POST", &deregister, Some(&granted), None).await.0, 200);
    assert!(listed(&push, "tokened").await.is_none());
    outside.stop().await;
}
