//! The management API beyond registration: paginated listing, the route table, the core services
//! registered at boot whatever the start order, and the API reached through keel like any plugin.

mod registry_support;

use std::time::Duration;

use keel_e2e::{AppSpec, Platform};
use registry_support::*;
use serde_json::Value;

async fn list(p: &Platform, query: &str) -> (u16, Value) {
    call("GET", &format!("{}/v1/plugins?{query}", api(p, REGISTRY)), None).await
}

#[actix_rt::test]
async fn listing_pages_by_offset_or_cursor_with_a_total() {
    let mut p = Platform::new();
    start_registry(&mut p, &[("KEEL_POLL_INTERVAL_MS", "3600000")]).await;
    let ids = ["p-a", "p-b", "p-c", "p-d", "p-e"];
    for id in ids {
        p.start(fake(id, &[("FAKE_PUBLIC", "login"), ("FAKE_TIMEOUT_MS", "30000")])).await;
        assert_eq!(register(&p, REGISTRY, id, None).await.0, 201);
    }
    let mut all: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    all.push("plugins".into());
    all.sort();

    // Cursor: follow next_after to the end.
    let mut seen = Vec::new();
    let mut query = "limit=2".to_owned();
    loop {
        let (status, page) = list(&p, &query).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["total"], 6);
        seen.extend(page["plugins"].as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap().to_owned()));
        match page["next_after"].as_str() {
            Some(after) => query = format!("limit=2&after={after}"),
            None => break,
        }
    }
    assert_eq!(seen, all);

    // Offset, default page size, filters, and bad queries.
    let (_, page) = list(&p, "limit=2&offset=4").await;
    let tail: Vec<&str> =
        page["plugins"].as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap()).collect();
    assert_eq!(tail, vec![all[4].as_str(), all[5].as_str()]);
    assert!(page.get("next_after").is_none());
    let (_, page) = list(&p, "").await;
    assert_eq!((page["limit"].as_u64(), page["plugins"].as_array().unwrap().len()), (Some(100), 6));
    let (_, page) = list(&p, "status=FAILED").await;
    assert_eq!(page["total"], 0);
    for bad in ["limit=0", "limit=100000", "status=SLEEPING", "offset=minus"] {
        let (status, body) = list(&p, bad).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }

    // Each record says what a client needs.
    let (_, page) = list(&p, "limit=1").await;
    let rec = &page["plugins"][0];
    for field in
        ["id", "status", "version", "registered_at", "last_checked_at", "addons", "implements", "core"]
    {
        assert!(rec.get(field).is_some(), "{field} missing from {rec}");
    }
    let table = routes(&p, REGISTRY).await;
    assert_eq!(table["ret"], 0);
    assert_eq!(table["plugins"]["p-a"]["timeout_ms"], 30000);
    assert_eq!(table["plugins"]["p-a"]["public_endpoints"], serde_json::json!(["login"]));
    assert_eq!(table["plugins"].as_object().unwrap().len(), 6);
    assert!(table["version"].as_u64().unwrap() >= 6);
}

/// The design document's form (issue 18 §3): an implementing endpoint with a leading slash.
#[actix_rt::test]
async fn an_absolute_implementing_endpoint_is_accepted_and_stored_relative() {
    let mut p = Platform::new();
    start_registry(&mut p, &[]).await;
    p.start(fake("mailer", &[("FAKE_ADDONS", "before-send")])).await;
    p.start(fake("signer", &[("FAKE_IMPLEMENTS", "mailer@1.0:before-send=/before-send-callback")])).await;
    assert_eq!(register(&p, REGISTRY, "mailer", None).await.0, 201);
    let (status, body) = register(&p, REGISTRY, "signer", None).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["implements"][0]["endpoint"], "before-send-callback", "{body}");
    let table = routes(&p, REGISTRY).await;
    assert_eq!(
        table["plugins"]["mailer"]["addons"]["before-send"],
        serde_json::json!({"plugin": "signer", "endpoint": "before-send-callback"})
    );
    // The extended plugin was asked about the endpoint in the form it will be called at.
    let asked = addons_calls(&p, "mailer").await;
    assert_eq!(asked[0]["endpoint"][0]["endpoint"], "before-send-callback", "{asked:?}");
    let record = stored_record(&p, "signer").await.unwrap();
    assert_eq!(record["identify"]["main_plugin"][0]["endpoints"][0]["endpoint"], "before-send-callback");
}

#[actix_rt::test]
async fn core_services_register_in_any_start_order_and_keel_routes_to_the_registry() {
    let mut p = Platform::new();
    // The registry first: keel and auth do not answer yet, and it keeps trying.
    start_registry(&mut p, &[]).await;
    p.start(AppSpec::bin("auth", "auth")).await;
    p.start(AppSpec::keel()).await;
    for id in ["keel", "auth", "plugins"] {
        let rec = keel_e2e::eventually(&format!("{id} registered"), Duration::from_secs(30), || async {
            let (status, rec) = get_plugin(&p, REGISTRY, id).await;
            (status == 200).then_some(rec)
        })
        .await;
        assert_eq!(rec["core"], true, "{rec}");
    }

    // Through keel, as platform.md §1 shows: the registry's API, then a plugin it registered.
    // Registering is for platform scope or a granted app (`registry_scopes.rs`); here, directly.
    p.start(fake("via-keel", &[])).await;
    let through_keel = |path: &str| format!("{}/v1.0/invoke/keel/method/{path}", p.dapr_url(REGISTRY));
    let (status, body) = register(&p, REGISTRY, "via-keel", None).await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = call("GET", &through_keel("plugins/v1/plugins/via-keel"), None).await;
    assert_eq!((status, &body["status"]), (200, &Value::from("ACTIVE")), "{body}");
    // The pushed table reached keel: it routes to the new plugin at once.
    let (status, echoed) = call("GET", &through_keel("via-keel/hello"), None).await;
    assert_eq!(status, 200, "{echoed}");
    assert_eq!(echoed["path"], "/hello");

    // An ordinary plugin may read the registry through keel, not change it.
    let from_plugin = |path: &str| format!("{}/v1.0/invoke/keel/method/{path}", p.dapr_url("via-keel"));
    let (status, _) = call("GET", &from_plugin("plugins/v1/plugins"), None).await;
    assert_eq!(status, 200);
    let (status, body) = call("DELETE", &from_plugin("plugins/v1/plugins/via-keel"), None).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["msg"].as_str().unwrap().contains("app \"via-keel\" does not have it"), "{body}");
    // Nor go around keel: its sidecar says who it is, whatever headers it adds.
    let direct = format!("{}/v1.0/invoke/plugins/method/v1/plugins/via-keel", p.dapr_url("via-keel"));
    let req = keel_e2e::client().delete(direct).insert_header(("x-keel-roles", "admin"));
    assert_eq!(req.send().await.unwrap().status().as_u16(), 403);
}

#[actix_rt::test]
async fn an_upgraded_core_service_is_refreshed_at_the_next_boot() {
    let mut p = Platform::new();
    start_registry(&mut p, &[]).await;
    p.start(fake("auth", &[("FAKE_VERSION", "1.0.0")])).await;
    let rec = wait_registered(&p, REGISTRY, "auth").await;
    assert_eq!((rec["version"].as_str(), &rec["core"]), (Some("1.0.0"), &Value::from(true)));
    let registered_at = rec["registered_at_ms"].clone();

    // auth comes back upgraded, with a new point; the registry restarts and notices.
    p.stop("auth");
    p.start(fake("auth", &[("FAKE_VERSION", "1.1.0"), ("FAKE_ADDONS", "on-login")])).await;
    let stopped = p.stop(REGISTRY);
    p.restart(stopped).await;
    let rec = keel_e2e::eventually("auth refreshed", Duration::from_secs(30), || async {
        let (_, rec) = get_plugin(&p, REGISTRY, "auth").await;
        (rec["version"] == "1.1.0").then_some(rec)
    })
    .await;
    assert_eq!(rec["registered_at_ms"], registered_at, "a refresh is not a new registration");
    assert_eq!(rec["addons"][0]["point"], "on-login");
    assert_eq!(routes(&p, REGISTRY).await["plugins"]["auth"]["version"], "1.1.0");
}
