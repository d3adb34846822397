//! Console entries of a pushed service (issue 16, `docs/console.md`): declared in its push
//! registration, listed with its status, reached at `/plugins/<name>/...` on keel's public port
//! through keel's sidecar by its URL (never dialled by keel), and gone when it deregisters.

mod push_support;
mod registry_support;

use std::time::Duration;

use keel_e2e::{client, eventually, Platform};
use push_support::{body, call, Outside};
use registry_support::{auth, login, public_base};
use serde_json::{json, Value};

async fn public_get(p: &Platform, path: &str, bearer: &str) -> (u16, Value) {
    let req = client()
        .get(format!("{}{path}", public_base(p)))
        .insert_header(("authorization", format!("Bearer {bearer}")));
    let mut res = req.send().await.expect("public port");
    let bytes = res.body().limit(1 << 20).await.unwrap();
    (res.status().as_u16(), serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[actix_rt::test]
async fn a_pushed_services_console_entries_route_by_its_url_and_go_with_it() {
    let mut p = Platform::new();
    p.start(auth()).await;
    let (push, _) = push_support::platform(&mut p, None, None, &[]).await;
    let outside = Outside::start();
    let register = format!("{push}/api/registry/register");

    // An entry outside its own group is refused, and nothing is registered.
    let stray = json!({"console": [{"name": "n", "name_en": "N", "type": 1, "path": "/plugins/other/ui"}]});
    let (status, _, refused) = call("POST", &register, Some(&body("outside", outside.port, stray))).await;
    assert_eq!((status, refused["code"].as_str()), (422, Some("ERR_BAD_CONSOLE_ENTRY")), "{refused}");

    let console = json!({"console": [{"name": "外部", "name_en": "Outside", "type": 3, "path": "/plugins/outside/ui"}]});
    let (status, _, registered) =
        call("POST", &register, Some(&body("outside", outside.port, console))).await;
    assert_eq!(status, 201, "{registered}");
    let entries = format!("{}/v1/console/entries", p.app_url("plugins"));
    let (_, _, listed) = call("GET", &entries, None).await;
    let entry = &listed["entries"][0];
    assert_eq!(
        (entry["owner"].as_str(), entry["kind"].as_str()),
        (Some("outside"), Some("service")),
        "{listed}"
    );
    assert_eq!(entry["status"], "ACTIVE", "{listed}");

    let token = eventually("keel accepts auth's tokens", Duration::from_secs(30), || async {
        let t = login(&p, "admin", "bootstrap-password-1", None).await;
        (public_get(&p, "/apis/plugins/v1/plugins", &t).await.0 == 200).then_some(t)
    })
    .await;
    let echoed = eventually("keel routes /plugins/outside/", Duration::from_secs(10), || async {
        let (status, body) = public_get(&p, "/plugins/outside/ui/x?y=1", &token).await;
        (status == 200).then_some(body)
    })
    .await;
    assert_eq!(
        (echoed["path"].as_str(), echoed["query"].as_str()),
        (Some("/plugins/outside/ui/x"), Some("y=1"))
    );
    assert_eq!(echoed["x-keel-user"], "admin", "{echoed}");
    assert!(echoed["authorization"].is_null(), "the token stays with keel: {echoed}");

    // Deregistered: its entries go with it, and keel stops routing the group.
    let (status, _, _) = call("POST", &format!("{push}/api/registry/deregister/outside"), None).await;
    assert_eq!(status, 200);
    let (_, _, listed) = call("GET", &entries, None).await;
    assert_eq!(listed["entries"], json!([]), "{listed}");
    eventually("the group gone from keel", Duration::from_secs(10), || async {
        (public_get(&p, "/plugins/outside/ui/x", &token).await.0 == 404).then_some(())
    })
    .await;
    outside.stop().await;
}
