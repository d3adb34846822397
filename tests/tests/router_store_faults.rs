//! A shared store whose disk stops taking writes (issue 17 §4: "a store fault in one sidecar never
//! takes routing down"). The repository's sqlite components run a rollback journal
//! (`disableWAL: "true"`), so the fault is a refused write in each sidecar, not a SIGBUS: keel's
//! sidecar lives, keel stays ready and routes from its table, and picks up changes again once the
//! disk takes writes.

mod router_support;

use std::time::Duration;

use keel_e2e::faults::Immutable;
use keel_e2e::{alive, client, AppSpec, Platform};
use router_support::*;

#[actix_rt::test]
async fn keel_routes_on_while_the_store_refuses_writes() {
    let mut p = Platform::new();
    // The shared store in a folder of its own, so the fault touches nothing else.
    let folder = p.dir().join("store");
    std::fs::create_dir_all(&folder).unwrap();
    let db = folder.join("state.db");
    p.write_component(
        "statestore.yaml",
        &format!(
            "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: statestore\nspec:\n  type: state.sqlite\n  version: v1\n  metadata:\n  - name: connectionString\n    value: \"{}\"\n  - name: disableWAL\n    value: \"true\"\n  - name: keyPrefix\n    value: name\n",
            db.display()
        ),
    );
    p.start(AppSpec::sidecar_only("caller")).await;
    seed(&p, "caller", &table(1, &[("up", "ACTIVE"), ("caller", "ACTIVE")])).await;
    p.start(upstream("up")).await;
    // keel re-reads the store every 200 ms, so it reads it often while the fault lasts.
    p.start(keel(&[("KEEL_ROUTES_REFRESH_MS", "200")])).await;
    wait_routes(&p, 1).await;

    let fault = Immutable::set(&[&db, &folder]);
    // A write through any sidecar is refused, cleanly.
    let url = format!("{}/v1.0/state/statestore", p.dapr_url("caller"));
    let res = client()
        .post(url)
        .send_json(&serde_json::json!([{"key": "keel-routes", "value": table(2, &[("caller", "ACTIVE")])}]))
        .await
        .expect("the caller's sidecar answers");
    assert_eq!(res.status().as_u16(), 500, "a write to a read-only store");
    // Routing goes on from the table keel holds, over several of its refresh rounds.
    for i in 0..20 {
        let (status, _, body) = send(call(&p, "caller", "GET", "up/hello")).await;
        assert_eq!(status, 200, "request {i} during the fault: {body}");
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    }
    let readyz = client().get(format!("{}/readyz", admin(&p))).send().await.expect("keel's admin port");
    assert_eq!(readyz.status().as_u16(), 204, "keel stays ready");
    for id in [KEEL, "caller", "up"] {
        assert!(alive(p.app(id).pid()), "{id}'s sidecar died under the fault");
    }

    // Once the disk takes writes again, so does the store, and keel follows the table.
    drop(fault);
    seed(&p, "caller", &table(3, &[("caller", "ACTIVE")])).await;
    wait_routes(&p, 3).await;
    let (status, _, body) = send(call(&p, "caller", "GET", "up/hello")).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("ERR_UNKNOWN_PLUGIN")), "{body}");
}
