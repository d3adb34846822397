//! Persistence: the registry keeps nothing only in memory. Killed at any moment and restarted, it
//! has lost no registration, holds no half-written one, and polls again.

mod registry_support;

use std::time::Duration;

use keel_e2e::{eventually, Platform};
use registry_support::*;

#[actix_rt::test]
async fn registrations_survive_a_kill_and_polling_resumes() {
    let mut p = Platform::new();
    p.start(auth()).await; // the secrets below become client credentials there
    start_registry(&mut p, &[]).await;
    p.start(fake("greeter", &[("FAKE_ADDONS", "decorate")])).await;
    p.start(fake("emoji", &[("FAKE_IMPLEMENTS", "greeter@1:decorate=hooks/decorate")])).await;
    let mut before = Vec::new();
    for id in ["greeter", "emoji"] {
        let (status, body) = register(&p, REGISTRY, id, Some("emoji-secret-1")).await;
        assert_eq!(status, 201, "{body}");
    }
    for id in ["greeter", "emoji"] {
        before.push(get_plugin(&p, REGISTRY, id).await.1);
    }
    let table_before = routes(&p, REGISTRY).await;

    let dead = crash(&mut p, REGISTRY);
    p.restart(dead).await;

    for old in &before {
        let id = old["id"].as_str().unwrap();
        let (status, now) = get_plugin(&p, REGISTRY, id).await;
        assert_eq!(status, 200, "{now}");
        for field in ["version", "registered_at_ms", "addons", "implements", "core"] {
            assert_eq!(now[field], old[field], "{id}.{field}");
        }
    }
    assert_eq!(routes(&p, REGISTRY).await["plugins"]["greeter"], table_before["plugins"]["greeter"]);
    let client = stored_client(&p, "emoji").await.expect("emoji's client credentials survive");
    assert!(client.to_string().contains("$argon2id$"), "{client}");

    // Polling resumed: a change is noticed by the restarted registry.
    fake_control(&p, "emoji", "status", "FAILED").await;
    wait_status(&p, "emoji", "FAILED", Duration::from_secs(10)).await;
}

#[actix_rt::test]
async fn a_registration_cut_short_by_a_kill_leaves_nothing_behind() {
    let mut p = Platform::new();
    start_registry(&mut p, &[("KEEL_IDENTIFY_TIMEOUT_MS", "10000")]).await;
    p.start(fake("slowpoke", &[("FAKE_IDENTIFY_DELAY_MS", "3000")])).await;
    let before = snapshot(&p, &["slowpoke"]).await;

    let url = format!("{}/v1/plugins", api(&p, REGISTRY));
    // Sent without waiting for the answer (there will be none: the registry dies first).
    let pending = actix_rt::spawn(async move {
        let _ = keel_e2e::client().post(url).send_json(&serde_json::json!({"id": "slowpoke"})).await;
    });
    // The registration is in flight once the registry has asked the plugin who it is; the fake
    // answers only after 3 s, so the kill lands between step 1 and the write.
    eventually("the registry asking slowpoke who it is", Duration::from_secs(10), || async {
        p.logs("slowpoke").contains("method=GET path=/v1/identify").then_some(())
    })
    .await;
    let dead = crash(&mut p, REGISTRY);
    let _ = pending.await;
    p.restart(dead).await;

    assert_eq!(snapshot(&p, &["slowpoke"]).await, before, "a half-done registration left a trace");
    let (status, _) = get_plugin(&p, REGISTRY, "slowpoke").await;
    assert_eq!(status, 404);
    let (status, body) = register(&p, REGISTRY, "slowpoke", None).await;
    assert_eq!(status, 201, "{body}");
}
