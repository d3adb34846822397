//! Tenant isolation end to end: a tenant admin, calling auth through a sidecar, gets the same 404
//! for another tenant as for one that does not exist, on every management endpoint, and changes
//! nothing there; the super-admin reaches every tenant.

mod auth_support;

use auth_support::*;
use keel_e2e::Platform;
use serde_json::{json, Value};

/// Every management request naming tenant `t`, with a harmless body.
fn every_endpoint_of(t: &str) -> Vec<(&'static str, String, Option<Value>)> {
    let q = format!("?tenant={t}");
    vec![
        ("GET", format!("v1/tenants/{t}"), None),
        ("PATCH", format!("v1/tenants/{t}"), Some(json!({"name": "mine now"}))),
        ("GET", format!("v1/users{q}"), None),
        ("POST", format!("v1/users{q}"), Some(json!({"username": "mole", "password": "mole-password"}))),
        ("GET", format!("v1/users/gus{q}"), None),
        ("PATCH", format!("v1/users/gus{q}"), Some(json!({"password": "taken-over-pw"}))),
        ("DELETE", format!("v1/users/gus{q}"), None),
        ("GET", format!("v1/roles{q}"), None),
        ("POST", format!("v1/roles{q}"), Some(json!({"name": "spies"}))),
        ("GET", format!("v1/roles/user{q}"), None),
        ("PATCH", format!("v1/roles/user{q}"), Some(json!({"plugins": ["*"]}))),
        ("DELETE", format!("v1/roles/user{q}"), None),
        ("GET", format!("v1/roles/user/grants{q}"), None),
        ("PUT", format!("v1/roles/user/grants/echo{q}"), None),
        ("DELETE", format!("v1/roles/user/grants/echo{q}"), None),
    ]
}

fn body(v: Option<Value>) -> Body<'static> {
    v.map(Body::Json).unwrap_or(Body::None)
}

#[actix_rt::test]
async fn tenant_admins_are_confined_to_their_tenant_on_every_management_endpoint() {
    let mut p = Platform::new();
    start(&mut p, auth_app(&[]), &["cli"]).await;
    let admin = token(&p, "cli", "admin", ADMIN_PW, None).await;
    for id in ["acme", "globex"] {
        let t = json!({"id": id, "admin": {"username": "boss", "password": format!("{id}-boss-pw")}});
        assert_eq!(call(&p, "cli", "POST", "v1/tenants", Body::Json(t), Some(&admin)).await.0, 201);
    }
    let gus = json!({"username": "gus", "password": "gus-password"});
    assert_eq!(call(&p, "cli", "POST", "v1/users?tenant=globex", Body::Json(gus), Some(&admin)).await.0, 201);
    let boss = token(&p, "cli", "boss", "acme-boss-pw", Some("acme")).await;
    let (_, globex_before) = call(&p, "cli", "GET", "v1/users?tenant=globex", Body::None, Some(&admin)).await;
    let (_, roles_before) = call(&p, "cli", "GET", "v1/roles?tenant=globex", Body::None, Some(&admin)).await;

    let (_, nowhere) = call(&p, "cli", "GET", "v1/tenants/nowhere", Body::None, Some(&boss)).await;
    for (method, path, b) in every_endpoint_of("globex") {
        let (status, res) = call(&p, "cli", method, &path, body(b), Some(&boss)).await;
        assert_eq!(status, 404, "{method} {path}: {res}");
        assert_eq!(
            res["msg"],
            nowhere["msg"].as_str().unwrap().replace("nowhere", "globex"),
            "{method} {path}"
        );
    }
    assert_eq!(call(&p, "cli", "DELETE", "v1/tenants/globex", Body::None, Some(&boss)).await.0, 403);
    let (_, listed) = call(&p, "cli", "GET", "v1/tenants", Body::None, Some(&boss)).await;
    assert_eq!(listed["tenants"].as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed["tenants"][0]["id"], "acme");

    // Nothing changed in globex, and its boss still has their own password.
    assert_eq!(
        call(&p, "cli", "GET", "v1/users?tenant=globex", Body::None, Some(&admin)).await.1,
        globex_before
    );
    assert_eq!(
        call(&p, "cli", "GET", "v1/roles?tenant=globex", Body::None, Some(&admin)).await.1,
        roles_before
    );
    assert_eq!(login(&p, "cli", "boss", "acme-boss-pw", Some("globex")).await.0, 400);
    token(&p, "cli", "boss", "globex-boss-pw", Some("globex")).await;

    // The super-admin reaches every tenant; the boss manages their own.
    for (method, path, b) in every_endpoint_of("acme").into_iter().take(2) {
        assert!(call(&p, "cli", method, &path, body(b), Some(&boss)).await.0 < 300, "{method} {path}");
    }
    let (status, users) = call(&p, "cli", "GET", "v1/users?tenant=globex", Body::None, Some(&admin)).await;
    assert_eq!((status, users["users"].as_array().unwrap().len()), (200, 2));
}
