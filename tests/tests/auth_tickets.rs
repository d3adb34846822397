//! Console login tickets and permission checks (issue 16, contract §B), end to end: the real auth
//! behind its sidecar, called through the sidecars of keel and of plugins (which stamp their
//! app-ids as in production). A session ticket is keel's alone; a ticket bound to plugin A works
//! for A and nobody else; expiry, logout and disabling the user end them; the store never holds a
//! ticket; permission checks follow the documented mapping (docs/console.md).

mod auth_support;

use std::path::Path;

use auth_support::*;
use keel_e2e::Platform;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// `POST path` with a JSON body on auth, through the sidecar of `via`.
async fn post(p: &Platform, via: &str, path: &str, body: Value) -> (u16, Value) {
    call(p, via, "POST", path, Body::Json(body), None).await
}

/// A console login through keel's sidecar; panics unless 201.
async fn login_ticket(p: &Platform, user: &str, password: &str, tenant: Option<&str>) -> String {
    let mut body = json!({"username": user, "password": password});
    if let Some(t) = tenant {
        body["tenant"] = json!(t);
    }
    let (status, answer) = post(p, "keel", "v1/tickets", body).await;
    assert_eq!(status, 201, "login of {user}: {answer}");
    answer["ticket"].as_str().expect("ticket").to_owned()
}

/// The ticket bound to `audience` for `session`, asked by keel.
async fn bind(p: &Platform, session: &str, audience: &str) -> String {
    let (status, answer) =
        post(p, "keel", "v1/tickets/bind", json!({"ticket": session, "audience": audience})).await;
    assert_eq!(status, 200, "{answer}");
    answer["ticket"].as_str().expect("ticket").to_owned()
}

/// `check` of `ticket` through `via`: the status and the error code (or the user name).
async fn check(p: &Platform, via: &str, ticket: &str) -> (u16, Value) {
    post(p, via, "v1/tickets/check", json!({"ticket": ticket})).await
}

/// The state key auth keeps `ticket` under: its SHA-256, base64url without padding.
fn stored_key(ticket: &str) -> String {
    let b64 = keel_e2e::base64(&Sha256::digest(ticket.as_bytes()));
    format!("auth/tickets/{}", b64.trim_end_matches('=').replace('+', "-").replace('/', "_"))
}

/// Every file under `dir` (stores, logs, components), read raw.
fn every_file(dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            every_file(&path, out);
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path.display().to_string(), bytes));
        }
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[actix_rt::test]
async fn a_session_is_keels_a_bound_ticket_its_plugins_and_the_store_never_holds_either() {
    let mut p = Platform::new();
    start(&mut p, auth_app(&[]), &["keel", "notes", "other"]).await;

    // Wrong password: 401, and the same throttling as the password grant counts it.
    let (status, body) =
        post(&p, "keel", "v1/tickets", json!({"username": "admin", "password": "wrong-pw"})).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("ERR_UNAUTHENTICATED")), "{body}");
    // Only keel opens sessions.
    let (status, body) =
        post(&p, "notes", "v1/tickets", json!({"username": "admin", "password": ADMIN_PW})).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("ERR_CALLER_NOT_ALLOWED")), "{body}");

    let session = login_ticket(&p, "admin", ADMIN_PW, None).await;
    let (status, me) = check(&p, "keel", &session).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(
        (me["username"].as_str(), me["tenant"].as_str(), me["scope"].as_str()),
        (Some("admin"), Some("platform"), Some("platform"))
    );
    assert_eq!(me["audience"], Value::Null);
    // A plugin never gets (nor may use) the session ticket.
    let (status, body) = check(&p, "notes", &session).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("ERR_TICKET_AUDIENCE")), "{body}");

    // Bound to notes: notes may check it, other may not, keel may.
    let bound = bind(&p, &session, "notes").await;
    assert_eq!(bind(&p, &session, "notes").await, bound, "the same ticket each time");
    let (status, info) = check(&p, "notes", &bound).await;
    assert_eq!(
        (status, info["audience"].as_str(), info["username"].as_str()),
        (200, Some("notes"), Some("admin")),
        "{info}"
    );
    let (status, body) = check(&p, "other", &bound).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("ERR_TICKET_AUDIENCE")), "{body}");
    assert!(!body.to_string().contains(&bound), "a refusal never quotes the ticket");
    assert_eq!(check(&p, "keel", &bound).await.0, 200);
    let other = bind(&p, &session, "other").await;
    assert_eq!(check(&p, "other", &other).await.0, 200);
    assert_eq!(check(&p, "notes", &other).await.0, 403);

    // The raw store through auth's sidecar: the hash is the key, the value names no ticket; the
    // ticket itself is no key. And no file of the platform (stores, logs) holds any ticket.
    for t in [&session, &bound, &other] {
        let raw = p
            .dapr(AUTH)
            .get_state("auth-state", &stored_key(t))
            .await
            .expect("state")
            .expect("stored under its hash");
        let text = String::from_utf8_lossy(&raw.value).into_owned();
        assert!(![&session, &bound, &other].iter().any(|x| text.contains(x.as_str())), "{text}");
        assert!(p
            .dapr(AUTH)
            .get_state("auth-state", &format!("auth/tickets/{t}"))
            .await
            .expect("state")
            .is_none());
    }
    let mut files = Vec::new();
    every_file(p.dir(), &mut files);
    assert!(files.iter().any(|(_, b)| contains(b, "auth/tickets/")), "the store files were searched");
    for (path, bytes) in &files {
        for t in [&session, &bound, &other] {
            assert!(!contains(bytes, t), "{path} holds a ticket");
        }
    }

    // Logout: the session and every ticket bound to it are dead; twice is fine; only keel revokes.
    assert_eq!(post(&p, "notes", "v1/tickets/revoke", json!({"ticket": session})).await.0, 403);
    assert_eq!(post(&p, "keel", "v1/tickets/revoke", json!({"ticket": session})).await.0, 204);
    assert_eq!(post(&p, "keel", "v1/tickets/revoke", json!({"ticket": session})).await.0, 204);
    for (via, t) in [("keel", &session), ("notes", &bound), ("other", &other)] {
        let (status, body) = check(&p, via, t).await;
        assert_eq!((status, body["code"].as_str()), (401, Some("ERR_TICKET_INVALID")), "{via}: {body}");
        assert!(body["msg"].as_str().unwrap_or_default().contains("revoked"), "{body}");
    }
    assert_eq!(
        post(&p, "keel", "v1/tickets/bind", json!({"ticket": session, "audience": "notes"})).await.0,
        401
    );
}

#[actix_rt::test]
async fn tickets_expire_and_die_with_their_disabled_user() {
    let mut p = Platform::new();
    start(&mut p, auth_app(&[("KEEL_TICKET_TTL_SECONDS", "2")]), &["keel", "notes"]).await;
    let root = token(&p, "keel", "admin", ADMIN_PW, None).await;
    let ann = json!({"username": "ann", "password": "ann-password"});
    assert_eq!(call(&p, "keel", "POST", "v1/users", Body::Json(ann), Some(&root)).await.0, 201);

    // Expiry: alive, then (polling, no fixed sleep) 401 saying it expired.
    let session = login_ticket(&p, "admin", ADMIN_PW, None).await;
    let bound = bind(&p, &session, "notes").await;
    assert_eq!(check(&p, "notes", &bound).await.0, 200);
    until("the ticket to expire", 10, || async { check(&p, "keel", &session).await.0 == 401 }).await;
    let (status, body) = check(&p, "notes", &bound).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("ERR_TICKET_INVALID")), "{body}");
    let (_, body) = check(&p, "keel", &session).await;
    assert_eq!(body["msg"], "the ticket has expired; log in again");

    // A disabled user's ticket fails at the next check, bound ones too.
    let ann = login_ticket(&p, "ann", "ann-password", None).await;
    let ann_bound = bind(&p, &ann, "notes").await;
    assert_eq!(check(&p, "keel", &ann).await.0, 200);
    let off =
        call(&p, "keel", "PATCH", "v1/users/ann", Body::Json(json!({"disabled": true})), Some(&root)).await;
    assert_eq!(off.0, 200, "{}", off.1);
    for (via, t) in [("keel", &ann), ("notes", &ann_bound)] {
        let (status, body) = check(&p, via, t).await;
        assert_eq!((status, body["code"].as_str()), (401, Some("ERR_TICKET_INVALID")), "{body}");
    }
}

#[actix_rt::test]
async fn permission_checks_for_the_super_admin_a_tenant_admin_and_a_plain_user() {
    let mut p = Platform::new();
    start(&mut p, auth_app(&[]), &["keel", "notes", "cli"]).await;
    let root = token(&p, "keel", "admin", ADMIN_PW, None).await;
    let acme =
        json!({"id": "acme", "name": "Acme", "admin": {"username": "boss", "password": "boss-password"}});
    assert_eq!(call(&p, "keel", "POST", "v1/tenants", Body::Json(acme), Some(&root)).await.0, 201);
    let boss = token(&p, "keel", "boss", "boss-password", Some("acme")).await;
    let ann = json!({"username": "ann", "password": "ann-password"});
    assert_eq!(call(&p, "keel", "POST", "v1/users", Body::Json(ann), Some(&boss)).await.0, 201);
    // The route table as the registry writes it: notes enabled for acme, billing for nobody.
    let table = json!({"version": 1, "plugins": {
        "notes": {"status": "ACTIVE", "version": "1.0.0", "tenants": ["acme"]},
        "billing": {"status": "ACTIVE", "version": "1.0.0", "tenants": []}}});
    let item = keel_sdk::dapr::SaveItem::new("keel-routes", table);
    p.dapr("cli").save_state("statestore", &[item]).await.expect("route table");

    let allowed = |ticket: String, target: &'static str, action: &'static str| {
        let p = &p;
        async move {
            let (status, body) = post(
                p,
                "notes",
                "v1/permissions/check",
                json!({"ticket": ticket, "target": target, "action": action}),
            )
            .await;
            assert_eq!(status, 200, "{target} {action}: {body}");
            body["allowed"].as_bool().expect("allowed")
        }
    };
    let root_t = bind(&p, &login_ticket(&p, "admin", ADMIN_PW, None).await, "notes").await;
    let boss_t = bind(&p, &login_ticket(&p, "boss", "boss-password", Some("acme")).await, "notes").await;
    let ann_t = bind(&p, &login_ticket(&p, "ann", "ann-password", Some("acme")).await, "notes").await;

    for action in ["develop", "operate", "administer"] {
        assert!(allowed(root_t.clone(), "notes", action).await, "super-admin {action}");
        assert!(allowed(root_t.clone(), "billing", action).await, "super-admin {action} billing");
        assert!(allowed(boss_t.clone(), "notes", action).await, "tenant admin {action}");
        assert!(!allowed(boss_t.clone(), "billing", action).await, "not enabled for acme");
        assert!(!allowed(boss_t.clone(), "auth", action).await, "core services: platform scope only");
        assert!(!allowed(ann_t.clone(), "notes", action).await, "plain user {action}");
    }
    // A grant to ann's role lets her develop, not operate or administer.
    let grant = call(&p, "keel", "PUT", "v1/roles/user/grants/notes", Body::None, Some(&boss)).await;
    assert_eq!(grant.0, 200, "{}", grant.1);
    assert!(allowed(ann_t.clone(), "notes", "develop").await);
    assert!(!allowed(ann_t.clone(), "notes", "operate").await);
    assert!(!allowed(ann_t.clone(), "notes", "administer").await);
    let (_, answer) = post(
        &p,
        "notes",
        "v1/permissions/check",
        json!({"ticket": ann_t, "target": "notes", "action": "administer"}),
    )
    .await;
    assert_eq!(answer["username"], "ann");
    assert!(
        answer["reason"].as_str().unwrap_or_default().contains("admin role of tenant \"acme\""),
        "{answer}"
    );

    // The audience rule holds here too.
    let (status, body) = post(
        &p,
        "cli",
        "v1/permissions/check",
        json!({"ticket": boss_t, "target": "notes", "action": "develop"}),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (403, Some("ERR_TICKET_AUDIENCE")), "{body}");
}
