//! Issue 13 §3, the sidecars' part: with the repository's Dapr Configurations (config/) a plugin
//! accepts service invocations only from keel and the registry. A plugin calling another plugin
//! straight through its sidecar is refused by the callee's sidecar with daprd's 403; the same call
//! through keel reaches it.

mod router_support;

use keel_e2e::build::workspace_root;
use keel_e2e::{AppSpec, Platform};
use router_support::*;

/// `spec` behind a sidecar that runs with `config/<name>.yaml`.
fn with_config(spec: AppSpec, name: &str) -> AppSpec {
    let path = workspace_root().join("config").join(format!("{name}.yaml"));
    spec.sidecar_args(&["--config", path.to_str().unwrap()])
}

#[actix_rt::test]
async fn a_plugin_cannot_call_another_plugin_directly_but_can_through_keel() {
    let mut p = Platform::new();
    p.start(with_config(upstream("alpha"), "plugin")).await;
    p.start(with_config(upstream("beta"), "plugin")).await;
    p.start(with_config(keel(&[]), "keel")).await;
    seed(&p, KEEL, &table(1, &[("alpha", "ACTIVE"), ("beta", "ACTIVE")])).await;
    wait_routes(&p, 1).await;

    // Straight to beta's sidecar: beta's policy has no place for alpha.
    let mut res = direct(&p, "alpha", "POST", "beta", "orders/1").send_body("{}").await.unwrap();
    assert_eq!(res.status().as_u16(), 403);
    let body = String::from_utf8(res.body().await.unwrap().to_vec()).unwrap();
    assert_eq!(
        body,
        r#"{"errorCode":"ERR_DIRECT_INVOKE","message":"failed to invoke, id: beta, err: rpc error: code = PermissionDenied desc = access control policy has denied access to id: spiffe://public/ns/default/alpha operation: orders/1 verb: POST"}"#
    );

    // Through keel: keel's sidecar calls beta as keel, which the policy allows.
    let (status, _, seen) =
        send(call(&p, "alpha", "POST", "beta/orders/1").insert_header(("content-type", "application/json")))
            .await;
    assert_eq!(status, 200, "{seen}");
    assert_eq!(seen["plugin"], "beta");
    assert_eq!(seen["path"], "/orders/1");
}
