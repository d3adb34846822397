//! Who may change the registry, end to end with the real registry, auth and keel (issue 13 §1):
//! only platform scope registers and unregisters plugins, and so implements keel's own points; a
//! tenant's admin, an admin of the platform tenant who is not super-admin, keel's own sidecar and
//! plugins without a grant are refused, and the store is left as it was. A plugin the operator
//! granted `register-plugins` may.

mod registry_support;

use std::time::Duration;

use keel_e2e::{client, eventually, AppSpec, Platform};
use registry_support::*;
use serde_json::{json, Value};

const POINT: &str = "external-pre-route-check";
const ADMIN_PW: &str = "bootstrap-password-1";

/// `method /apis/<path>` on keel's public port with `bearer`, plus a forged identity that keel
/// must drop. Returns the status and the JSON body.
async fn public(p: &Platform, method: &str, path: &str, bearer: &str, body: Option<Value>) -> (u16, Value) {
    let method = awc::http::Method::from_bytes(method.as_bytes()).unwrap();
    let req = client()
        .request(method, format!("{}/apis/{path}", public_base(p)))
        .insert_header(("authorization", format!("Bearer {bearer}")))
        .insert_header(("x-keel-scope", "platform"))
        .insert_header(("x-keel-roles", "super-admin,admin"));
    let mut res = match body {
        Some(b) => req.send_json(&b).await,
        None => req.send().await,
    }
    .expect("public port");
    let bytes = res.body().limit(1 << 20).await.unwrap();
    (res.status().as_u16(), serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// Asserts a 403 from the registry with `code` and a message containing `part`.
fn forbidden((status, body): (u16, Value), code: &str, part: &str) {
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["code"], code, "{body}");
    let msg = body["msg"].as_str().unwrap_or_default();
    assert!(msg.contains(part), "expected {part:?} in {msg:?}");
}

#[actix_rt::test]
async fn only_platform_scope_changes_the_registry_and_implements_keels_points() {
    let mut p = Platform::new();
    p.start(auth()).await;
    p.start(AppSpec::keel().env("KEEL_ROUTES_REFRESH_MS", "300")).await;
    // The operator grants the plugin `ops` the right to register and unregister plugins.
    start_registry(&mut p, &[("KEEL_GRANTS__OPS", "register-plugins")]).await;
    wait_registered(&p, REGISTRY, "keel").await;
    wait_registered(&p, REGISTRY, "auth").await;
    let implements = format!("keel@1.0:{POINT}=hooks/check");
    p.start(fake("gate", &[("FAKE_IMPLEMENTS", &implements)])).await;
    p.start(fake("echo", &[])).await;
    p.start(fake("ops", &[])).await;
    p.start(fake("other", &[])).await;

    let root = eventually("keel accepts auth's tokens", Duration::from_secs(30), || async {
        let t = login(&p, "admin", ADMIN_PW, None).await;
        (public(&p, "GET", "plugins/v1/plugins", &t, None).await.0 == 200).then_some(t)
    })
    .await;
    // A tenant with its admin, and an admin of the platform tenant who is not the super-admin.
    let acme = json!({"id": "acme", "admin": {"username": "boss", "password": "acme-boss-pw"}});
    assert_eq!(public(&p, "POST", "auth/v1/tenants", &root, Some(acme)).await.0, 201);
    let deputy = json!({"username": "deputy", "password": "deputy-pw-123", "roles": ["admin"]});
    assert_eq!(public(&p, "POST", "auth/v1/users", &root, Some(deputy)).await.0, 201);
    let boss = login(&p, "boss", "acme-boss-pw", Some("acme")).await;
    let deputy = login(&p, "deputy", "deputy-pw-123", None).await;

    // Neither may make a plugin implement keel's pre-route check, nor register anything at all,
    // whatever role names they hold (or forge): the store is left as it was.
    let before = snapshot(&p, &["gate", "keel"]).await;
    for token in [&boss, &deputy] {
        let refused = public(&p, "POST", "plugins/v1/plugins", token, Some(json!({"id": "gate"}))).await;
        forbidden(refused, "ERR_FORBIDDEN", "needs platform scope");
        let refused = public(&p, "POST", "plugins/v1/plugins", token, Some(json!({"id": "echo"}))).await;
        forbidden(refused, "ERR_FORBIDDEN", "needs platform scope");
    }
    assert_eq!(snapshot(&p, &["gate", "keel"]).await, before, "a refused registration changed the store");
    assert_eq!(routes(&p, REGISTRY).await["plugins"]["keel"]["addons"][POINT], Value::Null);

    // The super-admin may, keel's point included.
    for id in ["echo", "gate", "ops", "other"] {
        let (status, body) = public(&p, "POST", "plugins/v1/plugins", &root, Some(json!({"id": id}))).await;
        assert_eq!(status, 201, "{id}: {body}");
    }
    assert_eq!(
        routes(&p, REGISTRY).await["plugins"]["keel"]["addons"][POINT],
        json!({"plugin": "gate", "endpoint": "hooks/check"})
    );

    // Unregistering: refused to tenant scope, to keel's own sidecar (anyone who can reach it is
    // not keel), and to a plugin without the grant.
    forbidden(
        public(&p, "DELETE", "plugins/v1/plugins/echo", &boss, None).await,
        "ERR_FORBIDDEN",
        "\"boss\"",
    );
    forbidden(
        public(&p, "DELETE", "plugins/v1/plugins/gate", &deputy, None).await,
        "ERR_FORBIDDEN",
        "\"deputy\"",
    );
    let via = |app: &str, path: &str| format!("{}/v1.0/invoke/keel/method/{path}", p.dapr_url(app));
    let (status, body) = call("DELETE", &via("keel", "plugins/v1/plugins/echo"), None).await;
    assert_eq!(status, 403, "keel's own sidecar unregistered a plugin: {body}");
    let (status, body) = call("DELETE", &via("other", "plugins/v1/plugins/echo"), None).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["msg"].as_str().unwrap_or_default().contains("needs the grant register-plugins"), "{body}");
    assert_eq!(get_plugin(&p, REGISTRY, "echo").await.0, 200, "echo must still be registered");

    // The granted plugin may, through keel's internal flow.
    let (status, body) = call("DELETE", &via("ops", "plugins/v1/plugins/echo"), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(get_plugin(&p, REGISTRY, "echo").await.0, 404);
}
