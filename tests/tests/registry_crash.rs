//! A registration with a secret is all-or-nothing across the registry and auth even when either
//! is killed at any point (docs/architecture.md, "Cross-service writes"): after both are up again
//! and the reconciler has run, an absent plugin has no client credentials, a registered one's
//! work, and a half-done unregistration is completed.
//!
//! The registry is stopped at exact points by its crash-test knob `test_crash_point` and killed
//! there (SIGKILL, app and sidecar); auth is killed after a sweep of delays into a registration;
//! the store stalls (a write lock held on its sqlite file) after another sweep of delays. And a
//! `PUT` of credentials that arrives after the registry already removed them is refused.

mod registry_support;

use std::path::PathBuf;
use std::time::Duration;

use keel_e2e::{client, eventually, AppSpec, Platform};
use registry_support::*;
use serde_json::{json, Value};

const SECRET: &str = "s3cr3t-Pa55-crash-safe";

/// How long a change's intent is left to its owner before anyone may settle it.
const GRACE_MS: &str = "1000";

/// The registry as these tests run it: reconciling every 200 ms, stopping at `point` (empty: none).
fn crashing_registry(point: &str) -> AppSpec {
    registry(
        REGISTRY,
        &[
            ("KEEL_RECONCILE_INTERVAL_MS", "200"),
            ("KEEL_RECONCILE_GRACE_MS", GRACE_MS),
            ("KEEL_AUTH_TIMEOUT_MS", "3000"),
            ("KEEL_TEST_CRASH_POINT", point),
        ],
    )
}

/// Starts auth, a client sidecar `cli` to ask auth for tokens through, and fake plugins `ids`.
async fn start_platform(p: &mut Platform, ids: &[&str]) {
    p.start(auth()).await;
    p.start(AppSpec::sidecar_only("cli")).await;
    for id in ids {
        p.start(fake(id, &[])).await;
    }
}

/// The status of a client-credentials grant for `id` (asked once: failures are throttled).
async fn grant(p: &Platform, id: &str) -> u16 {
    let res = client()
        .post(format!("{}/v1.0/invoke/auth/method/v1/oauth/token", p.dapr_url("cli")))
        .insert_header(("content-type", "application/x-www-form-urlencoded"))
        .send_body(format!("grant_type=client_credentials&client_id={id}&client_secret={SECRET}"))
        .await
        .expect("token request");
    res.status().as_u16()
}

/// Sends `method` to the registry's `path` in the background, ignoring the outcome (the registry
/// is killed under it).
fn send_and_forget(p: &Platform, method: &'static str, path: &str, body: Option<Value>) {
    let url = format!("{}{path}", api(p, REGISTRY));
    actix_rt::spawn(async move {
        let req = client().request(awc::http::Method::from_bytes(method.as_bytes()).unwrap(), url);
        let _ = match body {
            Some(b) => req.send_json(&b).await,
            None => req.send().await,
        };
    });
}

/// Waits until the registry has stopped at crash point `point`.
async fn wait_crash_point(p: &Platform, point: &str) {
    eventually(&format!("the registry stopped at {point}"), Duration::from_secs(20), || async {
        p.logs(REGISTRY)
            .lines()
            .any(|l| l.contains("Test crash point reached") && l.contains(point))
            .then_some(())
    })
    .await;
}

/// Kills the registry and starts it again stopping at `point` (empty: nowhere).
async fn crash_and_restart(p: &mut Platform, point: &str) {
    let mut previous = crash(p, REGISTRY);
    previous.spec = previous.spec.env("KEEL_TEST_CRASH_POINT", point);
    p.restart(previous).await;
    wait_registered(p, REGISTRY, REGISTRY).await;
}

/// Waits until auth holds no client credentials for any of `ids`.
async fn wait_no_credentials(p: &Platform, ids: &[&str]) {
    eventually(&format!("no client credentials for {ids:?}"), Duration::from_secs(15), || async {
        for id in ids {
            if stored_client(p, id).await.is_some() {
                return None;
            }
        }
        Some(())
    })
    .await;
}

/// Waits until no intent is left in the registry's store for any of `ids`.
/// Once the intents of `ids` are settled: each is registered exactly when it has client
/// credentials, and a token can be had exactly for the registered ones.
async fn registered_iff_credentials(p: &Platform, ids: &[&str]) {
    wait_no_intents(p, ids).await;
    for &id in ids {
        let registered = get_plugin(p, REGISTRY, id).await.0 == 200;
        let has_credentials = stored_client(p, id).await.is_some();
        assert_eq!(
            registered, has_credentials,
            "{id}: registered {registered}, credentials {has_credentials}"
        );
        assert_eq!(grant(p, id).await == 200, registered, "{id}: a token iff registered");
    }
}

async fn wait_no_intents(p: &Platform, ids: &[&str]) {
    let dapr = p.dapr(REGISTRY);
    eventually(&format!("no intents left for {ids:?}"), Duration::from_secs(15), || async {
        for id in ids {
            let key = format!("keel-intent-{id}");
            if dapr.get_state("statestore", &key).await.expect("read state").is_some() {
                return None;
            }
        }
        Some(())
    })
    .await;
}

#[actix_rt::test]
async fn a_registry_killed_anywhere_in_a_registration_or_unregistration_leaves_no_stray_credentials() {
    let mut p = Platform::new();
    start_platform(&mut p, &["vault-a", "vault-b", "vault-c"]).await;
    p.start(crashing_registry("before-credentials")).await;
    wait_registered(&p, REGISTRY, REGISTRY).await;

    // Killed after the intent, after the credentials reached auth, and after the commit.
    let points =
        [("vault-a", "before-credentials"), ("vault-b", "before-commit"), ("vault-c", "after-commit")];
    for (i, (id, point)) in points.iter().enumerate() {
        send_and_forget(&p, "POST", "/v1/plugins", Some(json!({"id": id, "secret": SECRET})));
        wait_crash_point(&p, point).await;
        if *point == "before-commit" {
            assert!(stored_client(&p, id).await.is_some(), "auth has {id}'s credentials before the commit");
        }
        let next = points.get(i + 1).map(|(_, next)| *next).unwrap_or("after-unregister-commit");
        crash_and_restart(&mut p, next).await;
    }

    // Settled by the restarted registry once their grace is over: only the committed one keeps
    // its credentials.
    wait_no_credentials(&p, &["vault-a", "vault-b"]).await;
    wait_no_intents(&p, &["vault-a", "vault-b", "vault-c"]).await;
    assert_eq!(get_plugin(&p, REGISTRY, "vault-a").await.0, 404);
    assert_eq!(get_plugin(&p, REGISTRY, "vault-b").await.0, 404);
    assert_eq!(get_plugin(&p, REGISTRY, "vault-c").await.0, 200);
    assert_eq!(grant(&p, "vault-a").await, 401, "a token for a plugin that was never registered");
    assert_eq!(grant(&p, "vault-b").await, 401, "a token for a plugin that was never registered");
    assert_eq!(grant(&p, "vault-c").await, 200, "the registered plugin's credentials work");

    // An unregistration killed after its commit is completed after the restart.
    send_and_forget(&p, "DELETE", "/v1/plugins/vault-c", None);
    wait_crash_point(&p, "after-unregister-commit").await;
    crash_and_restart(&mut p, "").await;
    assert_eq!(get_plugin(&p, REGISTRY, "vault-c").await.0, 404);
    wait_no_credentials(&p, &["vault-c"]).await;
    wait_no_intents(&p, &["vault-c"]).await;
    assert_eq!(grant(&p, "vault-c").await, 401, "credentials outlived the unregistration");

    // Nothing left behind blocks the ids: they register again, credentials and all.
    let (status, body) = register(&p, REGISTRY, "vault-b", Some(SECRET)).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(grant(&p, "vault-b").await, 200);
    eventually("the intent index pruned", Duration::from_secs(10), || async {
        let index = p.dapr(REGISTRY).get_state_json::<Value>("statestore", "keel-intents").await.unwrap();
        index.is_none_or(|(i, _)| i["ids"].as_array().is_some_and(|a| a.is_empty())).then_some(())
    })
    .await;
}

#[actix_rt::test]
async fn an_auth_killed_during_a_registration_or_unregistration_leaves_no_stray_credentials() {
    let mut p = Platform::new();
    let ids = ["vault-0", "vault-1", "vault-2", "vault-3"];
    start_platform(&mut p, &ids).await;
    p.start(crashing_registry("")).await;
    wait_registered(&p, REGISTRY, REGISTRY).await;

    // auth killed at a sweep of points into a registration: before, while and after it hashes
    // and stores the secret.
    let delays = [0u64, 30, 90, 250];
    for (id, delay) in ids.iter().zip(delays) {
        let url = format!("{}/v1/plugins", api(&p, REGISTRY));
        let body = json!({"id": id, "secret": SECRET});
        let registering = actix_rt::spawn(async move {
            let res = client().post(url).send_json(&body).await;
            res.map(|r| r.status().as_u16()).unwrap_or(0)
        });
        actix_rt::time::sleep(Duration::from_millis(delay)).await;
        let previous = crash(&mut p, "auth");
        let status = registering.await.unwrap();
        assert!(status == 201 || status == 503, "{id} after {delay} ms: HTTP {status}");
        p.restart(previous).await;
    }

    // Registered ⇔ credentials, once the intents left behind are settled.
    registered_iff_credentials(&p, &ids).await;

    // An unregistration while auth is down: it succeeds, and the credentials go once auth is back.
    let (status, body) = register(&p, REGISTRY, "vault-0", Some(SECRET)).await;
    assert!(status == 201 || status == 409, "{body}");
    assert_eq!(grant(&p, "vault-0").await, 200);
    let previous = crash(&mut p, "auth");
    let (status, body) = call("DELETE", &format!("{}/v1/plugins/vault-0", api(&p, REGISTRY)), None).await;
    assert_eq!(status, 200, "{body}");
    p.restart(previous).await;
    wait_no_credentials(&p, &["vault-0"]).await;
    wait_no_intents(&p, &["vault-0"]).await;
    assert_eq!(grant(&p, "vault-0").await, 401, "credentials outlived the unregistration");
}

/// Holds a write lock on the sqlite file `db` for `hold`, on a thread of its own (other writers
/// wait up to the store's busy timeout, then fail); resolves once the lock is taken, with a
/// receiver that resolves once it is released.
async fn stall_store(db: PathBuf, hold: Duration) -> tokio::sync::oneshot::Receiver<()> {
    let (locked_tx, locked) = tokio::sync::oneshot::channel();
    let (released_tx, released) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let conn = rusqlite::Connection::open(&db).expect("open the store's file");
        conn.busy_timeout(Duration::from_secs(10)).unwrap();
        conn.execute_batch("BEGIN EXCLUSIVE").expect("lock the store");
        let _ = locked_tx.send(());
        std::thread::sleep(hold);
        conn.execute_batch("COMMIT").expect("unlock the store");
        let _ = released_tx.send(());
    });
    locked.await.expect("the lock was taken");
    released
}

#[actix_rt::test]
async fn a_stalled_store_leaves_credentials_only_with_a_registered_plugin() {
    let mut p = Platform::new();
    let ids = ["vault-s0", "vault-s1", "vault-s2", "vault-s3", "vault-s4"];
    start_platform(&mut p, &ids).await;
    // A store call gives up after 700 ms; the stalled write itself may still land when the lock
    // goes at 1.5 s (the sidecar waits up to its busy timeout, 2 s): the outcome is unknown to
    // the registry, which must cope either way.
    p.start(crashing_registry("").env("KEEL_STORE_TIMEOUT_MS", "700")).await;
    wait_registered(&p, REGISTRY, REGISTRY).await;
    let db = p.dir().join("state.db");

    for (id, delay) in ids.iter().zip([0u64, 15, 30, 50, 75]) {
        let url = format!("{}/v1/plugins", api(&p, REGISTRY));
        let body = json!({"id": id, "secret": SECRET});
        let registering = actix_rt::spawn(async move {
            let res = client().post(url).send_json(&body).await;
            res.map(|r| r.status().as_u16()).unwrap_or(0)
        });
        actix_rt::time::sleep(Duration::from_millis(delay)).await;
        let released = stall_store(db.clone(), Duration::from_millis(1500)).await;
        let status = registering.await.unwrap();
        assert!([201, 409, 503].contains(&status), "{id} after {delay} ms: HTTP {status}");
        released.await.unwrap();
    }

    // Registered ⇔ credentials, once the intents left behind are settled.
    registered_iff_credentials(&p, &ids).await;
}

/// The registry's clean-up may overtake its own `PUT` of the credentials (auth slowed by a
/// stalled store while the registry gave up, or a reconciler that judged the intent stale): the
/// removal withdraws that registration for good, in auth's real store, so the `PUT` arriving
/// after it stores nothing, while a later registration of the same plugin gets its credentials.
#[actix_rt::test]
async fn credentials_arriving_after_their_registration_was_withdrawn_are_refused() {
    let mut p = Platform::new();
    start_platform(&mut p, &[]).await;
    // A sidecar with the registry's app-id: auth lets only it (or platform scope) set credentials.
    p.start(AppSpec::sidecar_only(REGISTRY)).await;
    let clients = format!("{}/v1.0/invoke/auth/method/v1/clients/vault-w", p.dapr_url(REGISTRY));
    let put = |tag: &str| {
        let url = clients.clone();
        let body = json!({"secret": SECRET, "registration": tag});
        async move { client().put(url).send_json(&body).await.expect("PUT").status().as_u16() }
    };

    let mut early =
        client().delete(format!("{clients}?registration=attempt-1")).send().await.expect("DELETE");
    let body: Value = early.json().await.expect("JSON");
    assert_eq!((early.status().as_u16(), body["deleted"].as_bool()), (200, Some(false)), "{body}");
    assert_eq!(put("attempt-1").await, 409, "the late PUT of a withdrawn registration");
    assert_eq!(grant(&p, "vault-w").await, 401, "credentials stored for a withdrawn registration");

    assert_eq!(put("attempt-2").await, 201);
    assert_eq!(grant(&p, "vault-w").await, 200);
    // The marks expire (24 h): the store holds them with an expiry, not forever.
    let conn = rusqlite::Connection::open(p.dir().join("auth-state.db")).expect("auth's store");
    let expiring: i64 = conn
        .query_row(
            "SELECT count(*) FROM state WHERE key LIKE '%auth/registrations/vault-w/%' AND expiration_time IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .expect("read the marks");
    assert_eq!(expiring, 2, "one mark per registration, each with an expiry");
}
