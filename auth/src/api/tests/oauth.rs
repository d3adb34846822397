//! The OAuth endpoints: token (three grants), JWKS, introspection, revocation, rotation, and the
//! client credentials the registry sets.

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::jwk::JwkSet;
use keel_sdk::tokens::{GrantsView, RevokedDoc, Verifier, VerifierConfig, VerifyError};
use serde_json::{json, Value};

use super::{admin_token, authed, form, json_req, login, password_form, send};
use crate::test_app;
use crate::testing::{Harness, ADMIN_PASSWORD};

fn decode_part(token: &str, i: usize) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').nth(i).unwrap()).unwrap()).unwrap()
}

#[actix_web::test]
async fn the_password_grant_issues_an_eddsa_jwt_that_keel_verifies_from_the_jwks() {
    let h = Harness::new().await;
    let app = test_app!(h);
    let (status, headers, body) = send(&app, password_form("admin", ADMIN_PASSWORD, None).to_request()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers.get("cache-control").unwrap(), "no-store");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert!(body["refresh_token"].as_str().unwrap().starts_with("krt_"));
    let token = body["access_token"].as_str().unwrap();
    let header = decode_part(token, 0);
    assert_eq!(header["alg"], "EdDSA");
    let claims = decode_part(token, 1);
    for time in ["exp", "iat", "nbf"] {
        assert!(claims[time].is_u64(), "{time} must be a number: {claims}");
    }
    assert_eq!(claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(), 3600);
    assert_eq!((claims["iss"].as_str(), claims["aud"].as_str()), (Some("keel-auth"), Some("keel")));
    assert_eq!((claims["sub"].as_str(), claims["tenant"].as_str()), (Some("admin"), Some("platform")));

    let (_, headers, jwks) = send(&app, TestRequest::get().uri("/v1/oauth/jwks").to_request()).await;
    assert!(headers.get("cache-control").is_some());
    assert_eq!(jwks["keys"][0]["kid"], header["kid"]);
    assert!(jwks["keys"][0].get("d").is_none(), "never the private part");
    let keel = Verifier::new(VerifierConfig::default());
    keel.set_jwks(&serde_json::from_value::<JwkSet>(jwks).unwrap());
    let identity = keel.verify(token).unwrap();
    assert!(identity.is_super_admin());
}

#[actix_web::test]
async fn a_wrong_password_and_an_unknown_user_get_the_same_answer() {
    let h = Harness::new().await;
    let app = test_app!(h);
    let wrong = send(&app, password_form("admin", "not the password", None).to_request()).await;
    let unknown = send(&app, password_form("nobody", "not the password", None).to_request()).await;
    let bad_tenant = send(&app, password_form("admin", ADMIN_PASSWORD, Some("nowhere")).to_request()).await;
    assert_eq!(wrong.0, StatusCode::BAD_REQUEST);
    assert_eq!(wrong.2["error"], "invalid_grant");
    assert_eq!((wrong.0, &wrong.2), (unknown.0, &unknown.2));
    assert_eq!((wrong.0, &wrong.2), (bad_tenant.0, &bad_tenant.2));
}

#[actix_web::test]
async fn malformed_token_requests_get_rfc_6749_errors() {
    let h = Harness::new().await;
    let app = test_app!(h);
    let json_body = TestRequest::post().uri("/v1/oauth/token").set_json(json!({"grant_type": "password"}));
    let (status, _, body) = send(&app, json_body.to_request()).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));
    let twice = TestRequest::post()
        .uri("/v1/oauth/token")
        .insert_header(("content-type", "application/x-www-form-urlencoded"))
        .set_payload("grant_type=password&grant_type=password");
    let (_, _, body) = send(&app, twice.to_request()).await;
    assert_eq!(body["error"], "invalid_request");
    let (_, _, body) = send(&app, form("/v1/oauth/token", &[("grant_type", "implicit")]).to_request()).await;
    assert_eq!(body["error"], "unsupported_grant_type");
    assert!(body["error_description"].as_str().unwrap().contains("implicit"));
    let huge = "x".repeat(20_000);
    let (_, _, body) = send(&app, form("/v1/oauth/token", &[("grant_type", &huge)]).to_request()).await;
    let said = body["error_description"].as_str().unwrap();
    assert!(
        said.contains("x…") && said.len() < 700,
        "the caller's text is quoted bounded: {} bytes",
        said.len()
    );
    let (_, _, body) = send(&app, form("/v1/oauth/token", &[("grant_type", "password")]).to_request()).await;
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(
        (body["ret"].as_i64(), body["code"].as_str()),
        (Some(-400), Some("ERR_OAUTH_INVALID_REQUEST")),
        "the platform envelope rides along: {body}"
    );
    assert_eq!(body["msg"], body["error_description"]);
}

#[actix_web::test]
async fn client_credentials_set_by_the_registry_yield_a_client_token() {
    let h = Harness::new().await;
    let app = test_app!(h);
    let put = TestRequest::put()
        .uri("/v1/clients/mailer")
        .insert_header(("dapr-caller-app-id", "plugins"))
        .set_json(json!({"secret": "s3cret-of-mailer"}));
    let (status, _, body) = send(&app, put.to_request()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(!body.to_string().contains("s3cret"));
    assert!(!h.fake.dump().contains("s3cret-of-mailer"), "stored hashed");

    let basic = STANDARD.encode("mailer:s3cret-of-mailer");
    let req = form("/v1/oauth/token", &[("grant_type", "client_credentials")])
        .insert_header(("authorization", format!("Basic {basic}")));
    let (status, _, body) = send(&app, req.to_request()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("refresh_token").is_none());
    let claims = decode_part(body["access_token"].as_str().unwrap(), 1);
    assert_eq!((claims["sub"].as_str(), claims["client_id"].as_str()), (Some("mailer"), Some("mailer")));
    assert_eq!(claims["roles"], json!(["client"]));

    let in_body = form(
        "/v1/oauth/token",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "mailer"),
            ("client_secret", "s3cret-of-mailer"),
        ],
    );
    assert_eq!(send(&app, in_body.to_request()).await.0, StatusCode::OK);

    for (id, secret) in [("mailer", "wrong"), ("ghost", "s3cret-of-mailer")] {
        let basic = STANDARD.encode(format!("{id}:{secret}"));
        let req = form("/v1/oauth/token", &[("grant_type", "client_credentials")])
            .insert_header(("authorization", format!("Basic {basic}")));
        let (status, headers, body) = send(&app, req.to_request()).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
        assert!(headers.get("www-authenticate").unwrap().to_str().unwrap().starts_with("Basic"));
    }

    let del =
        TestRequest::delete().uri("/v1/clients/mailer").insert_header(("dapr-caller-app-id", "plugins"));
    let (status, _, body) = send(&app, del.to_request()).await;
    assert_eq!((status, body["deleted"].as_bool()), (StatusCode::OK, Some(true)));
    let req = form("/v1/oauth/token", &[("grant_type", "client_credentials")])
        .insert_header(("authorization", format!("Basic {basic}")));
    assert_eq!(send(&app, req.to_request()).await.0, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn a_removal_naming_another_registration_keeps_the_credentials() {
    let h = Harness::new().await;
    let app = test_app!(h);
    let registry = |req: TestRequest| req.insert_header(("dapr-caller-app-id", "plugins"));
    let put = registry(TestRequest::put().uri("/v1/clients/mailer"))
        .set_json(json!({"secret": "s3cret-of-mailer", "registration": "attempt-2"}));
    let (status, _, body) = send(&app, put.to_request()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["registration"], "attempt-2");

    // The clean-up of an earlier attempt that never committed leaves them.
    let stale = registry(TestRequest::delete().uri("/v1/clients/mailer?registration=attempt-1"));
    let (status, _, body) = send(&app, stale.to_request()).await;
    assert_eq!((status, body["deleted"].as_bool()), (StatusCode::OK, Some(false)));
    let get = registry(TestRequest::get().uri("/v1/clients/mailer"));
    assert_eq!(send(&app, get.to_request()).await.0, StatusCode::OK);

    let bad = registry(TestRequest::delete().uri("/v1/clients/mailer?registration=no%20spaces"));
    assert_eq!(send(&app, bad.to_request()).await.0, StatusCode::BAD_REQUEST);
    let own = registry(TestRequest::delete().uri("/v1/clients/mailer?registration=attempt-2"));
    let (status, _, body) = send(&app, own.to_request()).await;
    assert_eq!((status, body["deleted"].as_bool()), (StatusCode::OK, Some(true)));
    let get = registry(TestRequest::get().uri("/v1/clients/mailer"));
    assert_eq!(send(&app, get.to_request()).await.0, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn a_removal_that_overtakes_its_put_withdraws_that_registration() {
    let h = Harness::new().await;
    let app = test_app!(h);
    let registry = |req: TestRequest| req.insert_header(("dapr-caller-app-id", "plugins"));
    let put = |tag: &str| {
        registry(TestRequest::put().uri("/v1/clients/mailer"))
            .set_json(json!({"secret": "s3cret-of-mailer", "registration": tag}))
    };
    // The registry gave up on attempt-3 and cleaned up before its PUT reached the store.
    let early = registry(TestRequest::delete().uri("/v1/clients/mailer?registration=attempt-3"));
    let (status, _, body) = send(&app, early.to_request()).await;
    assert_eq!((status, body["deleted"].as_bool()), (StatusCode::OK, Some(false)));
    let (status, _, body) = send(&app, put("attempt-3").to_request()).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("ERR_CONFLICT")), "{body}");
    assert!(body["msg"].as_str().unwrap().contains("withdrawn"), "{body}");
    let get = registry(TestRequest::get().uri("/v1/clients/mailer"));
    assert_eq!(send(&app, get.to_request()).await.0, StatusCode::NOT_FOUND, "no credentials were stored");

    // A later registration is not affected, and repeating its PUT is harmless.
    assert_eq!(send(&app, put("attempt-4").to_request()).await.0, StatusCode::CREATED);
    assert_eq!(send(&app, put("attempt-4").to_request()).await.0, StatusCode::OK);
    // Once removed, that registration cannot come back either.
    let own = registry(TestRequest::delete().uri("/v1/clients/mailer?registration=attempt-4"));
    let (status, _, body) = send(&app, own.to_request()).await;
    assert_eq!((status, body["deleted"].as_bool()), (StatusCode::OK, Some(true)));
    assert_eq!(send(&app, put("attempt-4").to_request()).await.0, StatusCode::CONFLICT);
    let get = registry(TestRequest::get().uri("/v1/clients/mailer"));
    assert_eq!(send(&app, get.to_request()).await.0, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn only_the_registry_or_the_super_admin_manage_client_credentials() {
    let h = Harness::new().await;
    let app = test_app!(h);
    let body = json!({"secret": "x"});
    let anonymous = TestRequest::put().uri("/v1/clients/echo").set_json(body.clone());
    assert_eq!(send(&app, anonymous.to_request()).await.0, StatusCode::UNAUTHORIZED);
    // Through keel the sidecar stamps `keel`: that is not the registry.
    let via_keel = TestRequest::put()
        .uri("/v1/clients/echo")
        .insert_header(("dapr-caller-app-id", "keel"))
        .set_json(body.clone());
    assert_eq!(send(&app, via_keel.to_request()).await.0, StatusCode::UNAUTHORIZED);
    let admin = admin_token!(app);
    let (status, _, _) =
        send(&app, json_req(TestRequest::put().uri("/v1/clients/echo"), &admin, body.clone()).to_request())
            .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _, _) =
        send(&app, json_req(TestRequest::put().uri("/v1/clients/echo"), &admin, body).to_request()).await;
    assert_eq!(status, StatusCode::OK, "replacing answers 200");
    let (status, _, got) =
        send(&app, authed(TestRequest::get().uri("/v1/clients/echo"), &admin).to_request()).await;
    assert_eq!((status, got["set_by"].as_str()), (StatusCode::OK, Some("admin")));
    assert!(got.get("secret").is_none() && got.get("secret_hash").is_none());
    let bad_id = TestRequest::put()
        .uri("/v1/clients/Not_An_Id")
        .insert_header(("dapr-caller-app-id", "plugins"))
        .set_json(json!({"secret": "x"}));
    assert_eq!(send(&app, bad_id.to_request()).await.0, StatusCode::BAD_REQUEST);
}

#[actix_web::test]
async fn a_refresh_token_works_once_and_is_replaced() {
    let h = Harness::new().await;
    let app = test_app!(h);
    let first = login!(app, "admin", ADMIN_PASSWORD, None);
    let refresh = first["refresh_token"].as_str().unwrap();
    let req = || form("/v1/oauth/token", &[("grant_type", "refresh_token"), ("refresh_token", refresh)]);
    let (status, _, second) = send(&app, req().to_request()).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_ne!(second["access_token"], first["access_token"]);
    let (status, _, again) = send(&app, req().to_request()).await;
    assert_eq!((status, again["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    assert!(!h.fake.dump().contains(second["refresh_token"].as_str().unwrap()), "stored as a hash only");
}

#[actix_web::test]
async fn a_revoked_refresh_token_can_no_longer_be_used() {
    let h = Harness::new().await;
    let app = test_app!(h);
    let tokens = login!(app, "admin", ADMIN_PASSWORD, None);
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let revoke = form("/v1/oauth/revoke", &[("token", refresh), ("token_type_hint", "refresh_token")]);
    assert_eq!(send(&app, revoke.to_request()).await.0, StatusCode::OK);
    let use_it = form("/v1/oauth/token", &[("grant_type", "refresh_token"), ("refresh_token", refresh)]);
    assert_eq!(send(&app, use_it.to_request()).await.2["error"], "invalid_grant");
    // Unknown tokens are answered 200 too (RFC 7009 §2.2).
    assert_eq!(
        send(&app, form("/v1/oauth/revoke", &[("token", "nonsense")]).to_request()).await.0,
        StatusCode::OK
    );
}

#[actix_web::test]
async fn a_revoked_access_token_is_refused_by_auth_and_published_for_keel() {
    let h = Harness::new().await;
    let app = test_app!(h);
    let token = admin_token!(app);
    let me = || authed(TestRequest::get().uri("/v1/me"), &token).to_request();
    assert_eq!(send(&app, me()).await.0, StatusCode::OK);
    assert_eq!(
        send(&app, form("/v1/oauth/revoke", &[("token", &token)]).to_request()).await.0,
        StatusCode::OK
    );
    assert_eq!(send(&app, me()).await.0, StatusCode::UNAUTHORIZED);

    let jti = decode_part(&token, 1)["jti"].as_str().unwrap().to_owned();
    let doc: RevokedDoc =
        serde_json::from_value(h.fake.value(keel_sdk::tokens::REVOKED_KEY).unwrap()).unwrap();
    assert!(doc.jtis.contains_key(&jti));
    let (_, _, jwks) = send(&app, TestRequest::get().uri("/v1/oauth/jwks").to_request()).await;
    let keel = Verifier::new(VerifierConfig::default());
    keel.set_jwks(&serde_json::from_value::<JwkSet>(jwks).unwrap());
    assert!(keel.verify(&token).is_ok());
    keel.set_revoked(&doc);
    assert_eq!(keel.verify(&token), Err(VerifyError::Revoked));
}

#[actix_web::test]
async fn introspection_needs_a_caller_and_tells_active_from_inactive() {
    let h = Harness::new().await;
    let app = test_app!(h);
    let tokens = login!(app, "admin", ADMIN_PASSWORD, None);
    let access = tokens["access_token"].as_str().unwrap();
    let ask = |token: &str| authed(form("/v1/oauth/introspect", &[("token", token)]), access).to_request();
    let (status, _, body) = send(&app, form("/v1/oauth/introspect", &[("token", access)]).to_request()).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
    let (_, headers, body) = send(&app, ask(access)).await;
    assert_eq!(headers.get("cache-control").unwrap(), "no-store");
    assert_eq!((body["active"].as_bool(), body["sub"].as_str()), (Some(true), Some("admin")));
    assert_eq!(body["token_type"], "access_token");
    assert!(body["exp"].is_u64());
    let (_, _, body) = send(&app, ask(tokens["refresh_token"].as_str().unwrap())).await;
    assert_eq!((body["active"].as_bool(), body["token_type"].as_str()), (Some(true), Some("refresh_token")));
    for junk in ["junk", "a.b.c", "krt_unknown"] {
        assert_eq!(send(&app, ask(junk)).await.2["active"], false, "{junk}");
    }
}

#[actix_web::test]
async fn rotation_signs_new_tokens_with_a_new_key_and_old_tokens_stay_valid() {
    let h = Harness::new().await;
    let app = test_app!(h);
    let old = admin_token!(app);
    let (status, _, body) =
        send(&app, authed(TestRequest::post().uri("/v1/oauth/keys/rotate"), &old).to_request()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let new_kid = body["kid"].as_str().unwrap().to_owned();
    assert_ne!(decode_part(&old, 0)["kid"], new_kid);
    let (_, _, jwks) = send(&app, TestRequest::get().uri("/v1/oauth/jwks").to_request()).await;
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
    assert_eq!(
        send(&app, authed(TestRequest::get().uri("/v1/me"), &old).to_request()).await.0,
        StatusCode::OK
    );
    let new = admin_token!(app);
    assert_eq!(decode_part(&new, 0)["kid"], new_kid);

    // Tenant admins and users may not rotate.
    let create = json!({"id": "acme", "admin": {"username": "boss", "password": "boss-password"}});
    send(&app, json_req(TestRequest::post().uri("/v1/tenants"), &new, create).to_request()).await;
    let boss =
        login!(app, "boss", "boss-password", Some("acme"))["access_token"].as_str().unwrap().to_owned();
    let (status, _, _) =
        send(&app, authed(TestRequest::post().uri("/v1/oauth/keys/rotate"), &boss).to_request()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn the_configured_lifetimes_are_written_into_the_tokens() {
    let h = Harness::with(|c| {
        c.access_token_ttl_seconds = 5;
        c.refresh_token_ttl_seconds = 50;
    })
    .await;
    let app = test_app!(h);
    let tokens = login!(app, "admin", ADMIN_PASSWORD, None);
    assert_eq!((tokens["expires_in"].as_u64(), tokens["refresh_expires_in"].as_u64()), (Some(5), Some(50)));
    let claims = decode_part(tokens["access_token"].as_str().unwrap(), 1);
    assert_eq!(claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(), 5);
}

#[actix_web::test]
async fn grants_are_stored_where_keel_reads_them() {
    let h = Harness::new().await;
    let app = test_app!(h);
    let admin = admin_token!(app);
    let create = json!({"id": "acme", "admin": {"username": "boss", "password": "boss-password"}});
    send(&app, json_req(TestRequest::post().uri("/v1/tenants"), &admin, create).to_request()).await;
    let boss =
        login!(app, "boss", "boss-password", Some("acme"))["access_token"].as_str().unwrap().to_owned();
    let role = json!({"name": "mailers", "plugins": ["mailer"]});
    assert_eq!(
        send(&app, json_req(TestRequest::post().uri("/v1/roles"), &boss, role).to_request()).await.0,
        StatusCode::CREATED
    );
    let grant = authed(TestRequest::put().uri("/v1/roles/user/grants/echo"), &boss);
    assert_eq!(send(&app, grant.to_request()).await.0, StatusCode::OK);
    let user = json!({"username": "ann", "password": "ann-password", "roles": ["user", "mailers"]});
    assert_eq!(
        send(&app, json_req(TestRequest::post().uri("/v1/users"), &boss, user).to_request()).await.0,
        StatusCode::CREATED
    );
    let ann = login!(app, "ann", "ann-password", Some("acme"))["access_token"].as_str().unwrap().to_owned();

    let view: GrantsView =
        serde_json::from_value(h.fake.value(keel_sdk::tokens::TENANTS_KEY).unwrap()).unwrap();
    let identity = h.shared.verifier.verify(&ann).unwrap();
    assert!(view.can_call(&identity, "mailer"));
    assert!(view.can_call(&identity, "echo"));
    assert!(!view.can_call(&identity, "greeter"));
}

/// The names of `v`'s fields, sorted.
fn fields(v: &Value) -> Vec<&str> {
    let mut names: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    names.sort_unstable();
    names
}

#[actix_web::test]
async fn answers_are_the_envelope_beside_exactly_their_own_fields() {
    let h = Harness::new().await;
    let app = test_app!(h);
    let tokens = login!(app, "admin", ADMIN_PASSWORD, None);
    assert_eq!(
        fields(&tokens),
        ["access_token", "expires_in", "msg", "refresh_expires_in", "refresh_token", "ret", "token_type"]
    );
    assert_eq!((tokens["ret"].as_i64(), tokens["msg"].as_str()), (Some(0), Some("ok")));
    let access = tokens["access_token"].as_str().unwrap();

    let (_, _, me) = send(&app, authed(TestRequest::get().uri("/v1/me"), access).to_request()).await;
    assert_eq!(fields(&me), ["client_id", "exp", "msg", "ret", "roles", "sub", "tenant"]);
    assert!(me["client_id"].is_null(), "a user's answer says it is no client: {me}");

    let ask = |token: &str| authed(form("/v1/oauth/introspect", &[("token", token)]), access).to_request();
    let (_, _, info) = send(&app, ask(access)).await;
    assert_eq!(
        fields(&info),
        [
            "active",
            "aud",
            "client_id",
            "exp",
            "iat",
            "iss",
            "jti",
            "msg",
            "nbf",
            "ret",
            "roles",
            "sub",
            "tenant",
            "token_type",
            "username"
        ]
    );
    assert_eq!((info["username"].as_str(), info["client_id"].is_null()), (Some("admin"), true));
    let (_, _, info) = send(&app, ask(tokens["refresh_token"].as_str().unwrap())).await;
    assert_eq!(
        fields(&info),
        ["active", "exp", "iat", "msg", "ret", "sub", "tenant", "token_type", "username"]
    );
    let (_, _, info) = send(&app, ask("junk")).await;
    assert_eq!(info, json!({"ret": 0, "msg": "ok", "active": false}));

    let (_, _, jwks) = send(&app, TestRequest::get().uri("/v1/oauth/jwks").to_request()).await;
    assert_eq!(fields(&jwks), ["keys", "msg", "ret"]);
    let (_, _, rotated) =
        send(&app, authed(TestRequest::post().uri("/v1/oauth/keys/rotate"), access).to_request()).await;
    assert_eq!(fields(&rotated), ["kid", "msg", "published", "ret"]);
    assert_eq!(rotated["published"].as_array().unwrap().len(), 2);
}
