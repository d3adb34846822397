//! The management API: tenant isolation on every endpoint, what plain users may do, roles,
//! passwords, deletions, and what survives a restart.

use actix_web::http::{Method, StatusCode};
use actix_web::test::TestRequest;
use serde_json::{json, Value};

use super::{admin_token, authed, json_req, login, password_form, send};
use crate::test_app;
use crate::testing::{Harness, ADMIN_PASSWORD};

/// Creates tenants `acme` (admin `boss`, user `ann`) and `globex` (admin `boss` too, with
/// another password, and user `gus`) and returns the tokens of acme's boss and ann.
macro_rules! two_tenants {
    ($app:expr) => {{
        let admin = admin_token!($app);
        for (id, pw) in [("acme", "acme-boss-pw"), ("globex", "globex-boss-pw")] {
            let body = json!({"id": id, "name": id.to_uppercase(), "admin": {"username": "boss", "password": pw}});
            let (status, _, res) =
                send(&$app, json_req(TestRequest::post().uri("/v1/tenants"), &admin, body).to_request()).await;
            assert_eq!(status, StatusCode::CREATED, "{res}");
        }
        let q = "?tenant=globex";
        let gus = json!({"username": "gus", "password": "gus-password"});
        let uri = format!("/v1/users{q}");
        send(&$app, json_req(TestRequest::post().uri(&uri), &admin, gus).to_request()).await;
        let boss = login!($app, "boss", "acme-boss-pw", Some("acme"))["access_token"].as_str().unwrap().to_owned();
        let ann = json!({"username": "ann", "password": "ann-password"});
        let (status, _, _) = send(&$app, json_req(TestRequest::post().uri("/v1/users"), &boss, ann).to_request()).await;
        assert_eq!(status, StatusCode::CREATED);
        let ann = login!($app, "ann", "ann-password", Some("acme"))["access_token"].as_str().unwrap().to_owned();
        (admin, boss, ann)
    }};
}

fn req(method: Method, uri: &str, token: &str, body: Option<Value>) -> TestRequest {
    let r = authed(TestRequest::default().method(method).uri(uri), token);
    match body {
        Some(b) => r.set_json(b),
        None => r,
    }
}

/// Every management request that names tenant `t`, with a harmless body.
fn every_endpoint_of(t: &str) -> Vec<(Method, String, Option<Value>)> {
    let q = format!("?tenant={t}");
    vec![
        (Method::GET, format!("/v1/tenants/{t}"), None),
        (Method::PATCH, format!("/v1/tenants/{t}"), Some(json!({"name": "mine now"}))),
        (Method::GET, format!("/v1/users{q}"), None),
        (
            Method::POST,
            format!("/v1/users{q}"),
            Some(json!({"username": "mole", "password": "mole-password"})),
        ),
        (Method::GET, format!("/v1/users/gus{q}"), None),
        (Method::PATCH, format!("/v1/users/gus{q}"), Some(json!({"password": "taken-over-pw"}))),
        (Method::DELETE, format!("/v1/users/gus{q}"), None),
        (Method::GET, format!("/v1/roles{q}"), None),
        (Method::POST, format!("/v1/roles{q}"), Some(json!({"name": "spies"}))),
        (Method::GET, format!("/v1/roles/user{q}"), None),
        (Method::PATCH, format!("/v1/roles/user{q}"), Some(json!({"plugins": ["*"]}))),
        (Method::DELETE, format!("/v1/roles/user{q}"), None),
        (Method::GET, format!("/v1/roles/user/grants{q}"), None),
        (Method::PUT, format!("/v1/roles/user/grants/echo{q}"), None),
        (Method::DELETE, format!("/v1/roles/user/grants/echo{q}"), None),
    ]
}

#[actix_web::test]
async fn a_tenant_admin_never_sees_or_changes_another_tenant() {
    let h = Harness::new().await;
    let app = test_app!(h);
    let (_, boss, _) = two_tenants!(app);
    let before = h.fake.value("auth/users/globex").unwrap();
    let dir_before = h.fake.value(keel_sdk::tokens::TENANTS_KEY).unwrap()["tenants"]["globex"].clone();
    for (method, uri, body) in every_endpoint_of("globex") {
        let (status, _, res) = send(&app, req(method.clone(), &uri, &boss, body).to_request()).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {uri}: {res}");
        assert_eq!(
            (res["ret"].as_i64(), res["code"].as_str()),
            (Some(-404), Some("ERR_NOT_FOUND")),
            "{method} {uri}"
        );
        assert_eq!(res["msg"], "tenant \"globex\" not found", "{method} {uri}");
    }
    // Same answer as for a tenant that does not exist: nothing to probe.
    let (_, _, nowhere) = send(&app, req(Method::GET, "/v1/tenants/nowhere", &boss, None).to_request()).await;
    assert_eq!(nowhere["msg"], "tenant \"nowhere\" not found");
    let (status, _, _) =
        send(&app, req(Method::DELETE, "/v1/tenants/globex", &boss, None).to_request()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only the super-admin deletes tenants");
    let (_, _, list) = send(&app, req(Method::GET, "/v1/tenants", &boss, None).to_request()).await;
    assert_eq!(
        list["tenants"].as_array().unwrap().iter().map(|t| t["id"].clone()).collect::<Vec<_>>(),
        [json!("acme")]
    );
    assert_eq!(h.fake.value("auth/users/globex").unwrap(), before, "globex's users untouched");
    assert_eq!(h.fake.value(keel_sdk::tokens::TENANTS_KEY).unwrap()["tenants"]["globex"], dir_before);
    // Logging in as globex's boss still takes globex's password, not acme's.
    let (status, _, _) = send(&app, password_form("boss", "acme-boss-pw", Some("globex")).to_request()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    login!(app, "boss", "globex-boss-pw", Some("globex"));
}

#[actix_web::test]
async fn a_tenant_admin_manages_their_own_tenant_on_every_endpoint() {
    let h = Harness::new().await;
    let app = test_app!(h);
    let (_, boss, _) = two_tenants!(app);
    let own: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, "/v1/tenants/acme".into(), None),
        (Method::PATCH, "/v1/tenants/acme".into(), Some(json!({"name": "Acme Corp"}))),
        (Method::GET, "/v1/users".into(), None),
        (Method::GET, "/v1/users/ann?tenant=acme".into(), None),
        (Method::PATCH, "/v1/users/ann".into(), Some(json!({"disabled": false}))),
        (Method::POST, "/v1/roles".into(), Some(json!({"name": "ops", "desc": "operators"}))),
        (Method::PUT, "/v1/roles/ops/grants/echo".into(), None),
        (Method::GET, "/v1/roles/ops/grants".into(), None),
        (Method::DELETE, "/v1/roles/ops/grants/echo".into(), None),
        (Method::PATCH, "/v1/roles/ops".into(), Some(json!({"plugins": ["greeter"]}))),
        (Method::GET, "/v1/roles".into(), None),
        (Method::DELETE, "/v1/roles/ops".into(), None),
        (Method::DELETE, "/v1/users/ann".into(), None),
    ];
    for (method, uri, body) in own {
        let (status, _, res) = send(&app, req(method.clone(), &uri, &boss, body).to_request()).await;
        assert!(status.is_success(), "{method} {uri}: {status} {res}");
        assert_eq!(res["ret"], 0);
    }
}

#[actix_web::test]
async fn the_super_admin_manages_any_tenant_with_the_tenant_parameter() {
    let h = Harness::new().await;
    let app = test_app!(h);
    let (admin, _, _) = two_tenants!(app);
    let (status, _, res) =
        send(&app, req(Method::GET, "/v1/users?tenant=globex", &admin, None).to_request()).await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> =
        res["users"].as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap()).collect();
    assert_eq!(names, ["boss", "gus"]);
    let (_, _, all) = send(&app, req(Method::GET, "/v1/tenants", &admin, None).to_request()).await;
    assert_eq!(all["tenants"].as_array().unwrap().len(), 3, "platform, acme, globex");
}

#[actix_web::test]
async fn plain_users_and_clients_cannot_manage_anything() {
    let h = Harness::new().await;
    let app = test_app!(h);
    let (_, _, ann) = two_tenants!(app);
    for (method, uri, body) in every_endpoint_of("acme") {
        let (status, _, res) = send(&app, req(method.clone(), &uri, &ann, body).to_request()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {uri}: {res}");
        assert_eq!(
            (res["ret"].as_i64(), res["code"].as_str()),
            (Some(-403), Some("ERR_FORBIDDEN")),
            "{method} {uri}"
        );
    }
    let (status, _, _) = send(&app, req(Method::GET, "/v1/tenants", &ann, None).to_request()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, me) = send(&app, req(Method::GET, "/v1/me", &ann, None).to_request()).await;
    assert_eq!(
        (status, me["sub"].as_str(), me["tenant"].as_str()),
        (StatusCode::OK, Some("ann"), Some("acme"))
    );
    let (status, _, _) = send(&app, TestRequest::get().uri("/v1/users").to_request()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn any_user_changes_their_own_password_and_old_sessions_end() {
    let h = Harness::new().await;
    let app = test_app!(h);
    let (_, _, _) = two_tenants!(app);
    let session = login!(app, "ann", "ann-password", Some("acme"));
    let token = session["access_token"].as_str().unwrap();
    let change = |current: &str, new: &str| {
        req(
            Method::PUT,
            "/v1/me/password",
            token,
            Some(json!({"current_password": current, "new_password": new})),
        )
        .to_request()
    };
    assert_eq!(send(&app, change("wrong-password", "new-ann-password")).await.0, StatusCode::FORBIDDEN);
    assert_eq!(send(&app, change("ann-password", "short")).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(send(&app, change("ann-password", "new-ann-password")).await.0, StatusCode::OK);
    assert_eq!(
        send(&app, password_form("ann", "ann-password", Some("acme")).to_request()).await.0,
        StatusCode::BAD_REQUEST
    );
    login!(app, "ann", "new-ann-password", Some("acme"));
    let refresh = session["refresh_token"].as_str().unwrap();
    let use_it =
        super::form("/v1/oauth/token", &[("grant_type", "refresh_token"), ("refresh_token", refresh)]);
    assert_eq!(
        send(&app, use_it.to_request()).await.2["error"],
        "invalid_grant",
        "the old login's refresh ended"
    );
}

#[actix_web::test]
async fn roles_must_exist_and_deleting_one_takes_it_from_its_users() {
    let h = Harness::new().await;
    let app = test_app!(h);
    let (_, boss, _) = two_tenants!(app);
    let give =
        |roles: Value| req(Method::PATCH, "/v1/users/ann", &boss, Some(json!({"roles": roles}))).to_request();
    assert_eq!(send(&app, give(json!(["ghosts"]))).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(send(&app, give(json!(["super-admin"]))).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(send(&app, give(json!(["client"]))).await.0, StatusCode::BAD_REQUEST);
    send(&app, req(Method::POST, "/v1/roles", &boss, Some(json!({"name": "ops"}))).to_request()).await;
    assert_eq!(send(&app, give(json!(["user", "ops"]))).await.0, StatusCode::OK);
    assert_eq!(
        send(&app, req(Method::DELETE, "/v1/roles/user", &boss, None).to_request()).await.0,
        StatusCode::CONFLICT
    );
    assert_eq!(
        send(&app, req(Method::DELETE, "/v1/roles/ops", &boss, None).to_request()).await.0,
        StatusCode::OK
    );
    let (_, _, ann) = send(&app, req(Method::GET, "/v1/users/ann", &boss, None).to_request()).await;
    assert_eq!(ann["roles"], json!(["user"]));
}

#[actix_web::test]
async fn admins_cannot_lock_themselves_out() {
    let h = Harness::new().await;
    let app = test_app!(h);
    let (admin, boss, _) = two_tenants!(app);
    for (who, token, uri) in [("boss", &boss, "/v1/users/boss"), ("admin", &admin, "/v1/users/admin")] {
        let (status, _, _) = send(&app, req(Method::DELETE, uri, token, None).to_request()).await;
        assert_eq!(status, StatusCode::CONFLICT, "{who} deleting themselves");
        let (status, _, _) =
            send(&app, req(Method::PATCH, uri, token, Some(json!({"roles": ["user"]}))).to_request()).await;
        assert_eq!(status, StatusCode::CONFLICT, "{who} dropping their admin role");
        let (status, _, _) =
            send(&app, req(Method::PATCH, uri, token, Some(json!({"disabled": true}))).to_request()).await;
        assert_eq!(status, StatusCode::CONFLICT, "{who} disabling themselves");
    }
}

#[actix_web::test]
async fn a_disabled_user_cannot_log_in_and_gets_the_same_answer_as_a_wrong_password() {
    let h = Harness::new().await;
    let app = test_app!(h);
    let (_, boss, _) = two_tenants!(app);
    send(&app, req(Method::PATCH, "/v1/users/ann", &boss, Some(json!({"disabled": true}))).to_request())
        .await;
    let disabled = send(&app, password_form("ann", "ann-password", Some("acme")).to_request()).await;
    let wrong = send(&app, password_form("ann", "bad-password", Some("acme")).to_request()).await;
    assert_eq!((disabled.0, disabled.2), (wrong.0, wrong.2));
}

#[actix_web::test]
async fn deleting_a_tenant_removes_its_users_and_the_platform_tenant_stays() {
    let h = Harness::new().await;
    let app = test_app!(h);
    let (admin, _, _) = two_tenants!(app);
    assert_eq!(
        send(&app, req(Method::DELETE, "/v1/tenants/acme", &admin, None).to_request()).await.0,
        StatusCode::OK
    );
    assert!(h.fake.value("auth/users/acme").is_none());
    assert_eq!(
        send(&app, password_form("ann", "ann-password", Some("acme")).to_request()).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        send(&app, req(Method::DELETE, "/v1/tenants/acme", &admin, None).to_request()).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        send(&app, req(Method::DELETE, "/v1/tenants/platform", &admin, None).to_request()).await.0,
        StatusCode::CONFLICT
    );
    let dup = json!({"id": "globex"});
    assert_eq!(
        send(&app, req(Method::POST, "/v1/tenants", &admin, Some(dup)).to_request()).await.0,
        StatusCode::CONFLICT
    );
    let bad = json!({"id": "Not A Label"});
    assert_eq!(
        send(&app, req(Method::POST, "/v1/tenants", &admin, Some(bad)).to_request()).await.0,
        StatusCode::BAD_REQUEST
    );
    let typo = json!({"id": "initech", "nmae": "typo"});
    assert_eq!(
        send(&app, req(Method::POST, "/v1/tenants", &admin, Some(typo)).to_request()).await.0,
        StatusCode::BAD_REQUEST
    );
}

#[actix_web::test]
async fn answers_and_the_store_never_contain_passwords_or_secrets() {
    let h = Harness::new().await;
    let app = test_app!(h);
    let (admin, boss, _) = two_tenants!(app);
    let mut answers = String::new();
    for uri in ["/v1/users?tenant=acme", "/v1/users/ann?tenant=acme", "/v1/tenants", "/v1/roles?tenant=acme"]
    {
        answers.push_str(&send(&app, req(Method::GET, uri, &admin, None).to_request()).await.2.to_string());
    }
    answers
        .push_str(&send(&app, req(Method::GET, "/v1/users", &boss, None).to_request()).await.2.to_string());
    for secret in ["ann-password", "acme-boss-pw", "$argon2", "password_hash", ADMIN_PASSWORD] {
        assert!(!answers.contains(secret), "{secret} in {answers}");
    }
    let stored = h.fake.dump();
    for secret in ["ann-password", "acme-boss-pw", "gus-password", ADMIN_PASSWORD] {
        assert!(!stored.contains(secret), "{secret} stored in clear");
    }
    assert!(stored.contains("$argon2id$"));
}

#[actix_web::test]
async fn keys_users_and_tenants_survive_a_restart() {
    let h = Harness::new().await;
    let app = test_app!(h);
    let (_, _, ann_token) = two_tenants!(app);
    let kid = h.shared.signer().unwrap().kid.clone();
    let cfg = h.shared.cfg.clone();
    drop(app);
    let Harness { fake, .. } = h;
    // A new process on the same store, with another bootstrap password that must not matter.
    let h =
        Harness::boot(fake, crate::Config { admin_password: Some("another-password".into()), ..cfg }).await;
    let app = test_app!(h);
    assert_eq!(h.shared.signer().unwrap().kid, kid);
    assert_eq!(send(&app, req(Method::GET, "/v1/me", &ann_token, None).to_request()).await.0, StatusCode::OK);
    login!(app, "ann", "ann-password", Some("acme"));
    login!(app, "admin", ADMIN_PASSWORD, None);
    assert_eq!(
        send(&app, password_form("admin", "another-password", None).to_request()).await.0,
        StatusCode::BAD_REQUEST
    );
}

#[actix_web::test]
async fn without_a_configured_password_the_super_admin_gets_a_generated_one() {
    let h = Harness::with(|c| c.admin_password = None).await;
    let app = test_app!(h);
    assert_eq!(
        send(&app, password_form("admin", ADMIN_PASSWORD, None).to_request()).await.0,
        StatusCode::BAD_REQUEST
    );
    let users = h.fake.value("auth/users/platform").unwrap();
    assert!(users["users"]["admin"]["password_hash"].as_str().unwrap().starts_with("$argon2id$"));
    assert_eq!(users["users"]["admin"]["roles"], json!(["super-admin", "admin"]));
    // A second start leaves the super-admin alone.
    crate::bootstrap::run(&h.shared, &h.store).await.unwrap();
    assert_eq!(h.fake.value("auth/users/platform").unwrap()["users"], users["users"]);
}
