//! Tenants enable plugins (issue 13 §2, tKeel's model), end to end with the real registry, auth
//! and keel: a tenant's admin enables a plugin for their own tenant only, the plugin and the ones
//! it declares in `dependence` are told through `POST /v1/tenant/enable`, the tenants are
//! persisted in the route table and pushed to keel, a plugin refusing leaves nothing enabled, a
//! plugin another needs cannot be disabled first, and core services and the platform tenant are
//! always enabled.

mod registry_support;

use std::time::Duration;

use keel_e2e::{eventually, AppSpec, Platform};
use registry_support::*;
use serde_json::{json, Value};

const ADMIN_PW: &str = "bootstrap-password-1";

/// `method /apis/<path>` on keel's public port with `bearer`. Returns the status and the body.
async fn public(p: &Platform, method: &str, path: &str, bearer: &str, body: Option<Value>) -> (u16, Value) {
    public_call(p, method, &format!("/apis/{path}"), bearer, body).await
}

/// The tenant hooks fake plugin `id` received, as (path, body).
async fn hooks(p: &Platform, id: &str) -> Vec<(String, Value)> {
    let (_, body) = call("GET", &format!("{}/fake/requests", p.app_url(id)), None).await;
    body.as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r["path"].as_str().is_some_and(|p| p.starts_with("/v1/tenant/")))
        .map(|r| (r["path"].as_str().unwrap_or_default().to_owned(), r["body"].clone()))
        .collect()
}

fn refused((status, body): (u16, Value), want: u16, code: &str, part: &str) {
    assert_eq!(status, want, "{body}");
    assert_eq!(body["code"], code, "{body}");
    let msg = body["msg"].as_str().unwrap_or_default();
    assert!(msg.contains(part), "expected {part:?} in {msg:?}");
}

#[actix_rt::test]
async fn tenant_admins_enable_plugins_with_their_dependencies_and_keel_is_told() {
    let mut p = Platform::new();
    p.start(auth()).await;
    p.start(AppSpec::keel().env("KEEL_ROUTES_REFRESH_MS", "300")).await;
    start_registry(&mut p, &[]).await;
    wait_registered(&p, REGISTRY, "keel").await;
    wait_registered(&p, REGISTRY, "auth").await;
    p.start(fake("base", &[])).await;
    p.start(fake("app", &[("FAKE_DEPENDENCE", "base@1.0")])).await;
    p.start(fake("plain", &[("FAKE_TENANT_HOOKS", "absent")])).await;
    p.start(fake("picky", &[("FAKE_TENANT_HOOKS", "refuse:no licence for this tenant")])).await;

    let root = eventually("keel accepts auth's tokens", Duration::from_secs(30), || async {
        let t = login(&p, "admin", ADMIN_PW, None).await;
        (public(&p, "GET", "plugins/v1/plugins", &t, None).await.0 == 200).then_some(t)
    })
    .await;
    for (tenant, admin) in [("acme", "boss"), ("beta", "bea")] {
        let body = json!({"id": tenant, "admin": {"username": admin, "password": "tenant-admin-pw"}});
        assert_eq!(public(&p, "POST", "auth/v1/tenants", &root, Some(body)).await.0, 201);
    }
    let boss = login(&p, "boss", "tenant-admin-pw", Some("acme")).await;
    let bea = login(&p, "bea", "tenant-admin-pw", Some("beta")).await;
    for id in ["base", "app", "plain", "picky"] {
        let (status, body) = public(&p, "POST", "plugins/v1/plugins", &root, Some(json!({"id": id}))).await;
        assert_eq!(status, 201, "{id}: {body}");
    }

    // A new plugin is enabled for no tenant yet; the core services for every tenant.
    let table = routes(&p, REGISTRY).await;
    assert_eq!(table["plugins"]["app"]["tenants"], json!([]), "{table}");
    assert!(table["plugins"]["auth"].get("tenants").is_none(), "{table}");
    let (status, listed) = public(&p, "GET", "plugins/v1/tenants/acme/plugins", &boss, None).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(
        listed["plugins"],
        json!([{"id": "auth", "always": true}, {"id": "keel", "always": true}, {"id": "plugins", "always": true}])
    );

    // The admin of acme enables `app`: `base`, which it needs, first; both are told.
    let extra = json!({"extra": {"seats": 5}});
    let (status, body) = public(&p, "POST", "plugins/v1/tenants/acme/plugins/app", &boss, Some(extra)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["changed"], json!(["base", "app"]), "{body}");
    let told = json!({"tenant_id": "acme", "extra": {"seats": 5}});
    assert_eq!(hooks(&p, "base").await, vec![("/v1/tenant/enable".to_owned(), told.clone())]);
    assert_eq!(hooks(&p, "app").await, vec![("/v1/tenant/enable".to_owned(), told)]);
    // Persisted in the route table (through the Dapr state API) and pushed to keel.
    let stored =
        p.dapr(REGISTRY).get_state_json::<Value>("statestore", "keel-routes").await.unwrap().unwrap().0;
    assert_eq!(stored["plugins"]["app"]["tenants"], json!(["acme"]));
    assert_eq!(stored["plugins"]["base"]["tenants"], json!(["acme"]));
    let keels = format!("{}/v1.0/invoke/keel/method/v1/routes", p.dapr_url(REGISTRY));
    eventually("keel has the tenants", Duration::from_secs(10), || async {
        let (_, t) = call("GET", &keels, None).await;
        (t["plugins"]["app"]["tenants"] == json!(["acme"])).then_some(())
    })
    .await;
    // Enabling again changes nothing and tells nobody.
    let (status, body) = public(&p, "POST", "plugins/v1/tenants/acme/plugins/app", &boss, None).await;
    assert_eq!((status, &body["changed"]), (200, &json!([])), "{body}");
    assert_eq!(hooks(&p, "app").await.len(), 1);

    // Only for their own tenant.
    let other = public(&p, "POST", "plugins/v1/tenants/beta/plugins/app", &boss, None).await;
    refused(other, 403, "ERR_FORBIDDEN", "not its admin");
    // A plugin without the hooks (404) is enabled all the same; one refusing is not.
    let (status, body) = public(&p, "POST", "plugins/v1/tenants/beta/plugins/plain", &bea, None).await;
    assert_eq!((status, &body["changed"]), (200, &json!(["plain"])), "{body}");
    let no = public(&p, "POST", "plugins/v1/tenants/beta/plugins/picky", &bea, None).await;
    refused(no, 502, "ERR_PLUGIN_REFUSED", "no licence for this tenant");
    assert_eq!(routes(&p, REGISTRY).await["plugins"]["picky"]["tenants"], json!([]));
    let (_, listed) = public(&p, "GET", "plugins/v1/tenants/beta/plugins", &bea, None).await;
    let ids: Vec<&str> =
        listed["plugins"].as_array().unwrap().iter().filter_map(|p| p["id"].as_str()).collect();
    assert_eq!(ids, ["auth", "keel", "plain", "plugins"], "{listed}");

    // What another enabled plugin needs cannot go first; core services never go.
    let needed = public(&p, "DELETE", "plugins/v1/tenants/acme/plugins/base", &boss, None).await;
    refused(needed, 409, "ERR_IN_USE", "\"app\"");
    let core = public(&p, "DELETE", "plugins/v1/tenants/acme/plugins/auth", &boss, None).await;
    refused(core, 409, "ERR_CONFLICT", "always enabled");
    let (status, body) = public(&p, "DELETE", "plugins/v1/tenants/acme/plugins/app", &boss, None).await;
    assert_eq!((status, &body["changed"]), (200, &json!(["app"])), "{body}");
    assert_eq!(
        hooks(&p, "app").await.last().unwrap(),
        &("/v1/tenant/disable".to_owned(), json!({"tenant_id": "acme", "extra": null}))
    );
    let (status, _) = public(&p, "DELETE", "plugins/v1/tenants/acme/plugins/base", &boss, None).await;
    assert_eq!(status, 200);
    let table = routes(&p, REGISTRY).await;
    assert_eq!(
        (&table["plugins"]["app"]["tenants"], &table["plugins"]["base"]["tenants"]),
        (&json!([]), &json!([]))
    );

    // The platform tenant has every plugin, always.
    let (_, listed) = public(&p, "GET", "plugins/v1/tenants/platform/plugins", &root, None).await;
    assert!(listed["plugins"].as_array().unwrap().iter().all(|p| p["always"] == true), "{listed}");
    let (status, body) = public(&p, "POST", "plugins/v1/tenants/platform/plugins/app", &root, None).await;
    assert_eq!((status, &body["changed"]), (200, &json!([])), "{body}");
}
