//! Keel's public port with auth's tokens, end to end: the token endpoint is public, everything
//! else needs a valid token, grants decide which plugin a user may call (403 otherwise), keel
//! replaces client-sent identity headers with the verified ones, a revoked token is refused
//! within seconds, and tokens keep working across restarts of keel and auth.

mod auth_support;

use std::time::Duration;

use auth_support::*;
use keel_e2e::{client, eventually, AppSpec, Platform};
use serde_json::{json, Value};

/// The route table keel routes by: auth with its public endpoints, and the test plugin `echo`.
fn routes() -> Value {
    json!({"version": 1, "plugins": {
        "auth": {"status": "ACTIVE", "version": "1.0.0",
            "public_endpoints": ["v1/oauth/token", "v1/oauth/jwks", "v1/oauth/introspect", "v1/oauth/revoke"]},
        "echo": {"status": "ACTIVE", "version": "1.0.0"}
    }})
}

fn public(p: &Platform) -> String {
    format!("http://{}", p.app("keel").spec.env_value("KEEL_PUBLIC_LISTEN").expect("public listen"))
}

/// `method /apis/<path>` on keel's public port, with optional bearer token and body.
async fn api(
    p: &Platform,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Body<'_>,
) -> (u16, bool, Value) {
    let method = awc::http::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = client().request(method, format!("{}/apis/{path}", public(p)));
    if let Some(t) = bearer {
        req = req.insert_header(("authorization", format!("Bearer {t}")));
    }
    req = req.insert_header(("x-keel-user", "mallory")).insert_header(("x-keel-roles", "super-admin"));
    let sent = match body {
        Body::None => req.send().await,
        Body::Json(v) => req.send_json(&v).await,
        Body::Form(pairs) => req.send_form(&pairs).await,
    };
    let mut res = sent.unwrap();
    let keel_error = res.headers().get("x-keel-error").is_some();
    let bytes = res.body().limit(1 << 20).await.unwrap();
    (res.status().as_u16(), keel_error, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

async fn public_login(p: &Platform, user: &str, pw: &str, tenant: Option<&str>) -> String {
    let mut form = vec![("grant_type", "password"), ("username", user), ("password", pw)];
    if let Some(t) = tenant {
        form.push(("tenant", t));
    }
    let (status, _, body) = api(p, "POST", "auth/v1/oauth/token", None, Body::Form(&form)).await;
    assert_eq!(status, 200, "public login of {user}: {body}");
    body["access_token"].as_str().unwrap().to_owned()
}

/// The single value of header `name` as the echo plugin received it.
fn seen(answer: &Value, name: &str) -> Value {
    answer["headers"][name].clone()
}

#[actix_rt::test]
async fn the_public_port_verifies_auths_tokens_and_checks_grants() {
    let mut p = Platform::new();
    start(&mut p, auth_app(&[]), &["seeder"]).await;
    let seeded = client()
        .post(format!("{}/v1.0/state/statestore", p.dapr_url("seeder")))
        .send_json(&json!([{"key": "keel-routes", "value": routes()}]))
        .await
        .unwrap();
    assert!(seeded.status().is_success());
    p.start(AppSpec::bin("echo", "router-upstream")).await;
    p.start(AppSpec::keel().env("KEEL_ROUTES_REFRESH_MS", "300")).await;
    eventually("keel routes to auth's public token endpoint", Duration::from_secs(30), || async {
        (api(&p, "GET", "auth/v1/oauth/jwks", None, Body::None).await.0 == 200).then_some(())
    })
    .await;

    // Closed by default: no token, a malformed one, alg none.
    let (status, keel_error, _) = api(&p, "GET", "echo/hello", None, Body::None).await;
    assert_eq!((status, keel_error), (401, true));
    assert_eq!(api(&p, "GET", "echo/hello", Some("not.a.jwt"), Body::None).await.0, 401);
    let none = "eyJhbGciOiJub25lIiwia2lkIjoiazEifQ.eyJzdWIiOiJhZG1pbiJ9.";
    assert_eq!(api(&p, "GET", "echo/hello", Some(none), Body::None).await.0, 401);

    // The super-admin calls anything; the plugin sees the verified identity, not the forged one.
    let admin = public_login(&p, "admin", ADMIN_PW, None).await;
    let (status, _, echoed) = api(&p, "GET", "echo/hello", Some(&admin), Body::None).await;
    assert_eq!(status, 200, "{echoed}");
    assert_eq!(seen(&echoed, "x-keel-user"), json!(["admin"]), "{echoed}");
    assert_eq!(seen(&echoed, "x-keel-tenant"), json!(["platform"]));
    assert_eq!(seen(&echoed, "x-keel-roles"), json!(["super-admin,admin"]));

    // A user without a grant: 403 from keel; with one: through (grants refresh on a timer).
    let tenant = json!({"id": "acme", "admin": {"username": "boss", "password": "acme-boss-pw"}});
    assert_eq!(api(&p, "POST", "auth/v1/tenants", Some(&admin), Body::Json(tenant)).await.0, 201);
    let boss = public_login(&p, "boss", "acme-boss-pw", Some("acme")).await;
    let ann = json!({"username": "ann", "password": "ann-password"});
    assert_eq!(api(&p, "POST", "auth/v1/users", Some(&boss), Body::Json(ann)).await.0, 201);
    let ann = public_login(&p, "ann", "ann-password", Some("acme")).await;
    let (status, keel_error, _) = api(&p, "GET", "echo/hello", Some(&ann), Body::None).await;
    assert_eq!((status, keel_error), (403, true));
    assert_eq!(api(&p, "GET", "auth/v1/me", Some(&ann), Body::None).await.0, 200, "auth is always reachable");
    assert_eq!(api(&p, "PUT", "auth/v1/roles/user/grants/echo", Some(&boss), Body::None).await.0, 200);
    until("the grant reaches keel", 15, || async {
        api(&p, "GET", "echo/hello", Some(&ann), Body::None).await.0 == 200
    })
    .await;

    // Revocation: refused by keel within seconds.
    let revoke = [("token", ann.as_str())];
    assert_eq!(api(&p, "POST", "auth/v1/oauth/revoke", None, Body::Form(&revoke)).await.0, 200);
    until("keel refuses the revoked token", 10, || async {
        api(&p, "GET", "echo/hello", Some(&ann), Body::None).await.0 == 401
    })
    .await;

    // Restarts of auth and of keel: the same tokens still pass.
    let previous = p.stop(AUTH);
    p.restart(previous).await;
    let previous = p.stop("keel");
    p.restart(previous).await;
    until("keel is back and verifies the old token", 30, || async {
        api(&p, "GET", "echo/hello", Some(&boss), Body::None).await.0 == 200
    })
    .await;
    public_login(&p, "ann", "ann-password", Some("acme")).await;
}
