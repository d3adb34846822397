//! `DELETE /v1/plugins/{id}`: unknown ids, core services, plugins whose points others implement
//! (refused unless forced), and what unregistering removes from the route table.

mod registry_support;

use keel_e2e::Platform;
use registry_support::*;
use serde_json::Value;

async fn delete(p: &Platform, id: &str) -> (u16, Value) {
    call("DELETE", &format!("{}/v1/plugins/{id}", api(p, REGISTRY)), None).await
}

async fn greeter_and_emoji() -> Platform {
    let mut p = Platform::new();
    start_registry(&mut p, &[("KEEL_POLL_INTERVAL_MS", "3600000")]).await;
    p.start(fake("greeter", &[("FAKE_ADDONS", "decorate,sign")])).await;
    p.start(fake("emoji", &[("FAKE_IMPLEMENTS", "greeter@1:decorate=hooks/decorate")])).await;
    for id in ["greeter", "emoji"] {
        let (status, body) = register(&p, REGISTRY, id, None).await;
        assert_eq!(status, 201, "{body}");
    }
    p
}

#[actix_rt::test]
async fn unknown_and_core_plugins_cannot_be_deleted() {
    let p = greeter_and_emoji().await;
    let (status, body) = delete(&p, "nobody").await;
    assert_eq!((status, body["msg"].as_str().unwrap()), (404, "plugin \"nobody\" is not registered"));
    let (status, body) = delete(&p, "plugins").await;
    assert_eq!(status, 403, "{body}");
    assert!(body["msg"].as_str().unwrap().contains("core service"));
    let (status, _) = delete(&p, "Not_An_Id").await;
    assert_eq!(status, 400);
}

#[actix_rt::test]
async fn a_plugin_whose_points_are_implemented_is_kept_unless_forced() {
    let p = greeter_and_emoji().await;
    let before = snapshot(&p, &["greeter", "emoji"]).await;
    let (status, body) = delete(&p, "greeter").await;
    assert_eq!(status, 409, "{body}");
    let msg = body["msg"].as_str().unwrap();
    assert!(msg.contains("\"emoji\" implements \"decorate\"") && msg.contains("?force=true"), "{msg}");
    assert_eq!(snapshot(&p, &["greeter", "emoji"]).await, before, "a refused delete changed the store");

    let version = routes(&p, REGISTRY).await["version"].as_u64().unwrap();
    let (status, body) =
        call("DELETE", &format!("{}/v1/plugins/greeter?force=true", api(&p, REGISTRY)), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], "greeter");
    let table = routes(&p, REGISTRY).await;
    assert!(table["plugins"].get("greeter").is_none());
    assert_eq!(table["version"].as_u64().unwrap(), version + 1);
    assert!(stored_record(&p, "greeter").await.is_none());
    // The implementer stays registered, implementing nothing any more.
    let (_, emoji) = get_plugin(&p, REGISTRY, "emoji").await;
    assert_eq!(emoji["implements"], serde_json::json!([]));
}

#[actix_rt::test]
async fn deleting_an_implementer_frees_the_points_it_implemented() {
    let p = greeter_and_emoji().await;
    let (_, greeter) = get_plugin(&p, REGISTRY, "greeter").await;
    assert_eq!(greeter["addons"][0]["implemented_by"]["plugin"], "emoji");
    let (status, body) = delete(&p, "emoji").await;
    assert_eq!(status, 200, "{body}");
    let (_, greeter) = get_plugin(&p, REGISTRY, "greeter").await;
    assert!(greeter["addons"][0]["implemented_by"].is_null(), "{greeter}");
    let table = routes(&p, REGISTRY).await;
    assert!(table["plugins"]["greeter"]["addons"]["decorate"].is_null());
    assert!(table["plugins"].get("emoji").is_none());
    assert!(stored_record(&p, "emoji").await.is_none());
    // The point is free again, and the same plugin can register anew.
    let (status, body) = register(&p, REGISTRY, "emoji", None).await;
    assert_eq!(status, 201, "{body}");
    let (status, _) = delete(&p, "greeter").await;
    assert_eq!(status, 409);
}
