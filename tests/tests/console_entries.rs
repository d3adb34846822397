//! Console entries end to end (issue 16), with the real registry, auth and keel: a plugin's
//! identify entries are listed with its status; a plugin cannot claim another's group; a Dapr
//! app that is not a plugin registers its own with the TarsWeb-shaped `PUT` (idempotent, its own
//! group only, nobody else's path, removable by its owner only); keel's public port forwards
//! `/plugins/<group>/...` to the owner with the path whole, and follows the registry's changes
//! without a restart (unregistered: 404; owner stopped: 503).

mod registry_support;

use std::time::Duration;

use keel_e2e::{client, eventually, AppSpec, Platform};
use registry_support::*;
use serde_json::{json, Value};

const ADMIN_PW: &str = "bootstrap-password-1";

fn entry(kind: u8, path: &str) -> Value {
    json!({"name": "笔记", "name_en": "Notes", "type": kind, "path": path})
}

/// A fake plugin declaring `entries` in its identify.
fn with_console(id: &str, entries: Value) -> AppSpec {
    fake(id, &[("FAKE_CONSOLE", &entries.to_string())])
}

/// `method /v1/console/entries[?query]` on the registry through app `app`'s own sidecar (so the
/// registry sees `dapr-caller-app-id: app`).
async fn as_app(p: &Platform, app: &str, method: &str, query: &str, body: Option<Value>) -> (u16, Value) {
    let url = format!("{}/v1.0/invoke/plugins/method/v1/console/entries{query}", p.dapr_url(app));
    call(method, &url, body).await
}

/// The registry's listing, straight on its app port.
async fn listed(p: &Platform, query: &str) -> Vec<Value> {
    let (status, body) = call("GET", &format!("{}/v1/console/entries{query}", api(p, REGISTRY)), None).await;
    assert_eq!(status, 200, "{body}");
    body["entries"].as_array().cloned().unwrap_or_default()
}

/// `GET <path>` on keel's public port with `bearer`: the status and the JSON body.
async fn public_get(p: &Platform, path: &str, bearer: Option<&str>) -> (u16, Value) {
    let mut req = client().get(format!("{}{path}", public_base(p)));
    if let Some(token) = bearer {
        req = req.insert_header(("authorization", format!("Bearer {token}")));
    }
    let mut res = req.send().await.expect("public port");
    let bytes = res.body().limit(1 << 20).await.unwrap();
    (res.status().as_u16(), serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[actix_rt::test]
async fn console_entries_are_registered_listed_and_routed_by_keel() {
    let mut p = Platform::new();
    p.start(auth()).await;
    p.start(AppSpec::keel().env("KEEL_ROUTES_REFRESH_MS", "300")).await;
    start_registry(&mut p, &[]).await;
    wait_registered(&p, REGISTRY, "keel").await;
    wait_registered(&p, REGISTRY, "auth").await;

    // A plugin declaring a type-2 tab and a type-1 entry registers; both are listed with it.
    let notes = json!([entry(2, "/plugins/notes/tab"), entry(1, "/plugins/notes/"),
        {"name": "文档", "name_en": "Docs", "type": 1, "path": "https://docs.example.com/notes", "extern": 1}]);
    p.start(with_console("notes", notes).env("FAKE_PUBLIC", "plugins/notes/login")).await;
    let (status, body) = register(&p, REGISTRY, "notes", None).await;
    assert_eq!(status, 201, "{body}");
    let all = listed(&p, "").await;
    let paths: Vec<&str> = all.iter().map(|e| e["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["/plugins/notes/", "/plugins/notes/tab", "https://docs.example.com/notes"]);
    for e in &all {
        assert_eq!((e["owner"].as_str(), e["obj"].as_str()), (Some("notes"), Some("notes")), "{e}");
        assert_eq!((e["kind"].as_str(), e["status"].as_str()), (Some("plugin"), Some("ACTIVE")), "{e}");
    }
    assert_eq!(all[1]["name"], "笔记");
    assert_eq!(all[2]["extern"], 1);
    let tabs = listed(&p, "?type=2").await;
    assert_eq!(tabs.len(), 1, "{tabs:?}");
    assert_eq!(tabs[0]["path"], "/plugins/notes/tab");

    // Another plugin claiming a path in notes' group is refused naming its own group, and
    // nothing of it is written.
    p.start(with_console("thief", json!([entry(2, "/plugins/notes/x")]))).await;
    let (status, body) = register(&p, REGISTRY, "thief", None).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("ERR_MALFORMED_IDENTIFY")), "{body}");
    assert!(body["msg"].as_str().unwrap().contains("must start with \"/plugins/thief/\""), "{body}");
    assert_eq!(get_plugin(&p, REGISTRY, "thief").await.0, 404);

    // A Dapr app that is not a Keel plugin registers its own entry, TarsWeb-style: twice is
    // the same record.
    p.start(fake("svc", &[])).await;
    let svc_ui =
        json!({"name": "服务", "name_en": "Service UI", "obj": "svc", "type": 3, "path": "/plugins/svc/ui"});
    let (status, first) = as_app(&p, "svc", "PUT", "", Some(svc_ui.clone())).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!((first["kind"].as_str(), first["status"].as_str()), (Some("service"), Some("UNKNOWN")));
    let routes_after_first = routes(&p, REGISTRY).await["version"].clone();
    let (status, again) = as_app(&p, "svc", "PUT", "", Some(svc_ui.clone())).await;
    assert_eq!((status, &again), (200, &first));
    assert_eq!(routes(&p, REGISTRY).await["version"], routes_after_first, "nothing written the second time");

    // Its refusals: another's obj, a path outside its group, a path a plugin declared.
    let mut for_notes = svc_ui.clone();
    for_notes["obj"] = json!("notes");
    let (status, body) = as_app(&p, "svc", "PUT", "", Some(for_notes)).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("ERR_CALLER_NOT_ALLOWED")), "{body}");
    let mut outside = svc_ui.clone();
    outside["path"] = json!("/plugins/notes/mine");
    let (status, body) = as_app(&p, "svc", "PUT", "", Some(outside)).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("ERR_BAD_CONSOLE_ENTRY")), "{body}");
    assert!(body["msg"].as_str().unwrap().contains("\"/plugins/svc/\""), "{body}");
    // The same path as notes' identify entry, by another registrant (here: notes' own app
    // through PUT, and a platform admin on the app port): taken.
    let dup = json!({"name": "x", "name_en": "x", "obj": "notes", "type": 2, "path": "/plugins/notes/tab"});
    let (status, body) = as_app(&p, "notes", "PUT", "", Some(dup.clone())).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("ERR_CONSOLE_PATH_TAKEN")), "{body}");
    let (status, body) = call("PUT", &format!("{}/v1/console/entries", api(&p, REGISTRY)), Some(dup)).await;
    assert_eq!(status, 409, "{body}");
    // Removing: not by another app; by its owner (below, after routing).
    let (status, body) = as_app(&p, "notes", "DELETE", "?path=/plugins/svc/ui", None).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("ERR_CALLER_NOT_ALLOWED")), "{body}");
    let (status, body) = as_app(&p, "svc", "DELETE", "?path=/plugins/notes/tab", None).await;
    assert_eq!(status, 403, "{body}");

    // keel's public port: the path reaches the owner whole, query kept, with a token only.
    let token = eventually("keel accepts auth's tokens", Duration::from_secs(30), || async {
        let t = login(&p, "admin", ADMIN_PW, None).await;
        (public_get(&p, "/apis/plugins/v1/plugins", Some(&t)).await.0 == 200).then_some(t)
    })
    .await;
    let echoed = eventually("keel routes /plugins/notes/", Duration::from_secs(10), || async {
        let (status, body) = public_get(&p, "/plugins/notes/tab/x?y=1", Some(&token)).await;
        (status == 200).then_some(body)
    })
    .await;
    assert_eq!(
        (echoed["path"].as_str(), echoed["query"].as_str()),
        (Some("/plugins/notes/tab/x"), Some("y=1"))
    );
    assert!(echoed["headers"].get("authorization").is_none(), "the token stays with keel: {echoed}");
    assert_eq!(echoed["headers"]["x-keel-user"], "admin", "keel vouches for the user: {echoed}");
    // Any verb, with its body streamed through as under /apis/.
    let note = json!({"text": "x".repeat(64 * 1024)});
    let (status, saved) =
        public_call(&p, "POST", "/plugins/notes/tab/save", &token, Some(note.clone())).await;
    assert_eq!((status, saved["method"].as_str()), (200, Some("POST")), "{saved}");
    assert_eq!(serde_json::from_str::<Value>(saved["body"].as_str().unwrap()).unwrap(), note);
    let (status, body) = public_get(&p, "/plugins/notes/tab/x", None).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("ERR_UNAUTHENTICATED")), "{body}");
    // Except a page the plugin declared public (its endpoint, as keel calls it).
    let (status, body) = public_get(&p, "/plugins/notes/login", None).await;
    assert_eq!((status, body["path"].as_str()), (200, Some("/plugins/notes/login")), "{body}");
    let (status, svc) = eventually("keel routes /plugins/svc/", Duration::from_secs(10), || async {
        let got = public_get(&p, "/plugins/svc/ui/page", Some(&token)).await;
        (got.0 == 200).then_some(got)
    })
    .await;
    assert_eq!((status, svc["path"].as_str()), (200, Some("/plugins/svc/ui/page")));
    let (status, body) = public_get(&p, "/plugins/nobody/x", Some(&token)).await;
    assert_eq!(
        (status, body["code"].as_str(), body["ret"].as_i64()),
        (404, Some("ERR_NOT_FOUND"), Some(-404))
    );

    // A platform admin registers and removes entries for any app, through keel's public port.
    let admin_put =
        json!({"name": "管理", "name_en": "Admin", "obj": "svc", "type": 1, "path": "/plugins/svc/admin"});
    let (status, body) =
        public_call(&p, "PUT", "/apis/plugins/v1/console/entries", &token, Some(admin_put)).await;
    assert_eq!((status, body["owner"].as_str()), (200, Some("svc")), "{body}");
    let (status, body) =
        public_call(&p, "DELETE", "/apis/plugins/v1/console/entries?path=/plugins/svc/admin", &token, None)
            .await;
    assert_eq!((status, body["path"].as_str()), (200, Some("/plugins/svc/admin")), "{body}");

    // Its owner removes svc's entry; keel stops routing the group without a restart.
    let (status, body) = as_app(&p, "svc", "DELETE", "?path=/plugins/svc/ui", None).await;
    assert_eq!((status, body["path"].as_str()), (200, Some("/plugins/svc/ui")), "{body}");
    eventually("svc's group gone from keel", Duration::from_secs(10), || async {
        (public_get(&p, "/plugins/svc/ui/page", Some(&token)).await.0 == 404).then_some(())
    })
    .await;

    // A stopped owner is 503 (the registry marks it UNREACHABLE; keel blocks it).
    p.start(with_console("ops", json!([entry(3, "/plugins/ops/board")]))).await;
    assert_eq!(register(&p, REGISTRY, "ops", None).await.0, 201);
    eventually("keel routes /plugins/ops/", Duration::from_secs(10), || async {
        (public_get(&p, "/plugins/ops/board", Some(&token)).await.0 == 200).then_some(())
    })
    .await;
    crash(&mut p, "ops");
    wait_status(&p, "ops", "UNREACHABLE", Duration::from_secs(20)).await;
    let ops = listed(&p, "?type=3").await;
    assert_eq!(ops[0]["status"], "UNREACHABLE", "{ops:?}");
    let (status, body) = eventually("keel blocks the stopped owner", Duration::from_secs(10), || async {
        let got = public_get(&p, "/plugins/ops/board", Some(&token)).await;
        (got.0 == 503).then_some(got)
    })
    .await;
    assert_eq!((status, body["code"].as_str()), (503, Some("ERR_PLUGIN_NOT_ACTIVE")), "{body}");

    // Unregistering a plugin drops its entries: listed no more, 404 at keel without a restart.
    let (status, body) = call("DELETE", &format!("{}/v1/plugins/notes", api(&p, REGISTRY)), None).await;
    assert_eq!(status, 200, "{body}");
    assert!(listed(&p, "").await.iter().all(|e| e["owner"] != "notes"));
    eventually("notes' group gone from keel", Duration::from_secs(10), || async {
        let (status, body) = public_get(&p, "/plugins/notes/tab/x", Some(&token)).await;
        (status == 404 && body["code"] == "ERR_NOT_FOUND").then_some(())
    })
    .await;
}
