//! Tickets on auth's real routes (`actix_web::test`, the store on a fake sidecar): the caller
//! rules, the audience rule, expiry, revocation, disabled users, and hashes only at rest.

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use keel_sdk::dapr::headers::DAPR_CALLER_APP_ID;
use keel_sdk::protocol::headers::X_KEEL_USER;
use serde_json::{json, Value};

use super::*;
use crate::api::tests::{admin_token, json_req, login, send};
use crate::test_app;
use crate::testing::{Harness, ADMIN_PASSWORD};

/// A JSON POST to `path` as stamped by app `caller`'s sidecar.
fn from(caller: &str, path: &str, body: Value) -> TestRequest {
    TestRequest::post().uri(path).insert_header((DAPR_CALLER_APP_ID, caller)).set_json(body)
}

macro_rules! post {
    ($app:expr, $caller:expr, $path:expr, $body:expr) => {
        send(&$app, from($caller, $path, $body).to_request()).await
    };
}

/// A session ticket for the super-admin.
macro_rules! admin_ticket {
    ($app:expr) => {{
        let (status, _, body) =
            post!($app, "keel", "/v1/tickets", json!({"username": "admin", "password": ADMIN_PASSWORD}));
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["ticket"].as_str().unwrap().to_owned()
    }};
}

#[actix_web::test]
async fn keel_opens_a_session_and_checks_it_and_nobody_else_may() {
    let h = Harness::new().await;
    let app = test_app!(h);
    let (status, headers, body) =
        post!(app, "keel", "/v1/tickets", json!({"username": "admin", "password": ADMIN_PASSWORD}));
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(headers.get("cache-control").unwrap(), "no-store");
    let ticket = body["ticket"].as_str().unwrap();
    assert!(ticket.starts_with("kt_") && ticket.len() == 46, "{ticket}");
    assert_eq!(
        body["user"],
        json!({"username": "admin", "tenant": "platform", "roles": ["super-admin", "admin"], "scope": "platform"})
    );
    let (idle, abs) = (body["idle_expires_at"].as_u64().unwrap(), body["expires_at"].as_u64().unwrap());
    assert_eq!(abs - idle, 12 * 3600 - 30 * 60);

    let (status, _, info) = post!(app, "keel", "/v1/tickets/check", json!({"ticket": ticket}));
    assert_eq!(status, StatusCode::OK, "{info}");
    assert_eq!((info["username"].as_str(), info["audience"].as_str()), (Some("admin"), None));

    // A plugin may not check (nor use) a session ticket.
    let (status, _, refused) = post!(app, "echo", "/v1/tickets/check", json!({"ticket": ticket}));
    assert_eq!((status, refused["code"].as_str()), (StatusCode::FORBIDDEN, Some("ERR_TICKET_AUDIENCE")));
    // Only keel creates, binds and revokes.
    for (path, body) in [
        ("/v1/tickets", json!({"username": "admin", "password": ADMIN_PASSWORD})),
        ("/v1/tickets/bind", json!({"ticket": ticket, "audience": "echo"})),
        ("/v1/tickets/revoke", json!({"ticket": ticket})),
    ] {
        let (status, _, refused) = post!(app, "echo", path, body);
        assert_eq!(
            (status, refused["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("ERR_CALLER_NOT_ALLOWED")),
            "{path}"
        );
    }
    // A person through keel's public port is not keel, though keel's sidecar carried it.
    let person =
        from("keel", "/v1/tickets/check", json!({"ticket": ticket})).insert_header((X_KEEL_USER, "mallory"));
    assert_eq!(send(&app, person.to_request()).await.0, StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn a_wrong_password_is_401_and_throttled_like_the_password_grant() {
    let h = Harness::with(|c| c.login_free_failures = 2).await;
    let app = test_app!(h);
    for _ in 0..3 {
        let (status, _, body) =
            post!(app, "keel", "/v1/tickets", json!({"username": "admin", "password": "nope"}));
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("ERR_UNAUTHENTICATED")));
        assert!(!body.to_string().contains("nope"));
    }
    let (status, headers, _) =
        post!(app, "keel", "/v1/tickets", json!({"username": "admin", "password": ADMIN_PASSWORD}));
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(headers.contains_key("retry-after"));
    // The password grant from the same place shares the count.
    let grant = crate::api::tests::password_form("admin", ADMIN_PASSWORD, None)
        .insert_header((DAPR_CALLER_APP_ID, "keel"));
    let (status, _, _) = send(&app, grant.to_request()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

#[actix_web::test]
async fn a_bound_ticket_works_only_for_its_plugin_and_is_the_same_each_time() {
    let h = Harness::new().await;
    let app = test_app!(h);
    let session = admin_ticket!(app);
    let bind = json!({"ticket": session, "audience": "notes"});
    let (status, _, first) = post!(app, "keel", "/v1/tickets/bind", bind.clone());
    assert_eq!(status, StatusCode::OK, "{first}");
    let (_, _, again) = post!(app, "keel", "/v1/tickets/bind", bind);
    let bound = first["ticket"].as_str().unwrap();
    assert_eq!(again["ticket"].as_str(), Some(bound), "deterministic per session and plugin");
    assert_ne!(bound, session);

    let (status, _, info) = post!(app, "notes", "/v1/tickets/check", json!({"ticket": bound}));
    assert_eq!(status, StatusCode::OK, "{info}");
    assert_eq!(info["audience"], "notes");
    let (status, _, refused) = post!(app, "other", "/v1/tickets/check", json!({"ticket": bound}));
    assert_eq!((status, refused["code"].as_str()), (StatusCode::FORBIDDEN, Some("ERR_TICKET_AUDIENCE")));
    assert!(refused["msg"].as_str().unwrap().contains("\"notes\""), "{refused}");
    assert!(!refused.to_string().contains(bound), "never quotes the ticket");
    // A bound ticket cannot be bound again (no laundering through keel).
    let (status, _, _) =
        post!(app, "keel", "/v1/tickets/bind", json!({"ticket": bound, "audience": "other"}));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) =
        post!(app, "keel", "/v1/tickets/bind", json!({"ticket": session, "audience": "Not An Id"}));
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[actix_web::test]
async fn revoking_a_session_kills_its_bound_tickets_and_the_store_holds_only_hashes() {
    let h = Harness::new().await;
    let app = test_app!(h);
    let session = admin_ticket!(app);
    let (_, _, bound) =
        post!(app, "keel", "/v1/tickets/bind", json!({"ticket": session, "audience": "notes"}));
    let bound = bound["ticket"].as_str().unwrap().to_owned();

    for t in [&session, &bound] {
        assert!(
            h.store.get::<Value>(&keys::ticket(t)).await.unwrap().is_none(),
            "the ticket itself is no key"
        );
        let stored =
            h.store.get::<Value>(&keys::ticket(&ticket_hash(t))).await.unwrap().expect("its hash is");
        let text = stored.value.to_string();
        assert!(!text.contains(session.as_str()) && !text.contains(bound.as_str()), "{text}");
    }

    let (status, _, _) = post!(app, "keel", "/v1/tickets/revoke", json!({"ticket": session}));
    assert_eq!(status, StatusCode::NO_CONTENT);
    for (caller, t) in [("keel", &session), ("notes", &bound)] {
        let (status, _, body) = post!(app, caller, "/v1/tickets/check", json!({"ticket": t}));
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("ERR_TICKET_INVALID")));
        assert!(body["msg"].as_str().unwrap().contains("revoked"), "{body}");
    }
    assert!(
        h.store.get::<Value>(&keys::ticket(&ticket_hash(&bound))).await.unwrap().is_none(),
        "deleted too"
    );
    // Twice is fine.
    assert_eq!(
        post!(app, "keel", "/v1/tickets/revoke", json!({"ticket": session})).0,
        StatusCode::NO_CONTENT
    );
}

#[actix_web::test]
async fn an_expired_ticket_says_so() {
    let h = Harness::with(|c| c.ticket_ttl_seconds = 1).await;
    let app = test_app!(h);
    let session = admin_ticket!(app);
    // Past the absolute expiry, whatever the idle one says.
    let key = keys::ticket(&ticket_hash(&session));
    let Some(Versioned { value: TicketRecord::Session(mut s), .. }) =
        h.store.get::<TicketRecord>(&key).await.unwrap()
    else {
        panic!("a session")
    };
    s.expires_at = now_secs() - 1;
    h.store.put(&key, &TicketRecord::Session(s)).await.unwrap();
    let (status, _, body) = post!(app, "keel", "/v1/tickets/check", json!({"ticket": session}));
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("ERR_TICKET_INVALID")));
    assert_eq!(body["msg"], "the ticket has expired; log in again");
}

#[actix_web::test]
async fn a_disabled_users_tickets_fail_at_once() {
    let h = Harness::new().await;
    let app = test_app!(h);
    let root = admin_token!(app);
    let ann = json!({"username": "ann", "password": "ann-password", "roles": ["user"]});
    assert_eq!(
        send(&app, json_req(TestRequest::post().uri("/v1/users"), &root, ann).to_request()).await.0,
        StatusCode::CREATED
    );
    let (status, _, body) =
        post!(app, "keel", "/v1/tickets", json!({"username": "ann", "password": "ann-password"}));
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let ticket = body["ticket"].as_str().unwrap();
    assert_eq!(body["user"]["scope"], "tenant");
    assert_eq!(post!(app, "keel", "/v1/tickets/check", json!({"ticket": ticket})).0, StatusCode::OK);
    let off = json_req(TestRequest::patch().uri("/v1/users/ann"), &root, json!({"disabled": true}));
    assert_eq!(send(&app, off.to_request()).await.0, StatusCode::OK);
    let (status, _, body) = post!(app, "keel", "/v1/tickets/check", json!({"ticket": ticket}));
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("ERR_TICKET_INVALID")));
    let _ = login!(app, "admin", ADMIN_PASSWORD, None);
}

#[actix_web::test]
async fn permission_checks_follow_the_rule_with_the_audience_rule() {
    let h = Harness::new().await;
    let app = test_app!(h);
    let table = json!({"version": 1, "plugins": {"notes": {"status": "ACTIVE", "version": "1.0.0"}}});
    h.store.put(keel_sdk::protocol::ROUTES_KEY, &table).await.unwrap();
    let session = admin_ticket!(app);
    let (_, _, bound) =
        post!(app, "keel", "/v1/tickets/bind", json!({"ticket": session, "audience": "notes"}));
    let bound = bound["ticket"].as_str().unwrap();
    let ask = json!({"ticket": bound, "target": "notes", "action": "administer"});
    let (status, _, answer) = post!(app, "notes", "/v1/permissions/check", ask.clone());
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!((answer["allowed"].as_bool(), answer["username"].as_str()), (Some(true), Some("admin")));
    assert_eq!(post!(app, "other", "/v1/permissions/check", ask).0, StatusCode::FORBIDDEN);
    let bad = json!({"ticket": bound, "target": "notes", "action": "own"});
    assert_eq!(post!(app, "notes", "/v1/permissions/check", bad).0, StatusCode::BAD_REQUEST);
}

#[actix_web::test]
async fn each_check_pushes_the_idle_expiry_back_and_an_idle_session_dies() {
    let h = Harness::with(|c| c.ticket_idle_seconds = 100).await;
    let app = test_app!(h);
    let session = admin_ticket!(app);
    let key = keys::ticket(&ticket_hash(&session));
    let stored = |s: Session| TicketRecord::Session(s);
    let read = || async {
        match h.store.get::<TicketRecord>(&key).await.unwrap() {
            Some(Versioned { value: TicketRecord::Session(s), .. }) => s,
            _ => panic!("a session"),
        }
    };
    // Nearly idle: a check pushes it back to now + the idle time.
    let mut s = read().await;
    s.idle_expires_at = now_secs() + 5;
    h.store.put(&key, &stored(s)).await.unwrap();
    assert_eq!(post!(app, "keel", "/v1/tickets/check", json!({"ticket": session})).0, StatusCode::OK);
    assert!(read().await.idle_expires_at >= now_secs() + 99);
    // Idle past it: expired, though the absolute expiry is hours away.
    let mut s = read().await;
    s.idle_expires_at = now_secs() - 1;
    h.store.put(&key, &stored(s)).await.unwrap();
    let (status, _, body) = post!(app, "keel", "/v1/tickets/check", json!({"ticket": session}));
    assert_eq!(
        (status, body["msg"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("the ticket has expired; log in again"))
    );
}
