//! Replicas of keel (issue 17 §2): two instances of app-id `keel` on one store. The registry's
//! push after a change reaches one of them (a Dapr invocation goes to one instance); the other
//! learns of it from the table's version key, so a registration and an unregistration are in
//! effect on every replica within 1 s — with the periodic full re-read set to a minute, so
//! only the version key can explain it.

mod registry_support;

use std::time::{Duration, Instant};

use keel_e2e::{client, eventually, AppSpec, Platform};
use registry_support::*;

const REPLICAS: [&str; 2] = ["keel", "keel-b"];

/// `GET /<plugin>/hello` on replica `replica`'s app port, as `caller`'s sidecar would send it.
async fn status_at(p: &Platform, replica: &str, plugin: &str) -> u16 {
    let url = format!("{}/{plugin}/hello", p.app_url(replica));
    match client().get(url).insert_header(("dapr-caller-app-id", "caller")).send().await {
        Ok(res) => res.status().as_u16(),
        Err(_) => 0,
    }
}

/// How long until every replica answers `want` for `plugin`.
async fn everywhere(p: &Platform, plugin: &str, want: u16) -> Duration {
    let started = Instant::now();
    for replica in REPLICAS {
        eventually(&format!("{plugin} answering {want} on {replica}"), Duration::from_secs(10), || async {
            (status_at(p, replica, plugin).await == want).then_some(())
        })
        .await;
    }
    started.elapsed()
}

#[actix_rt::test]
async fn changes_reach_every_keel_replica_within_a_second() {
    let mut p = Platform::new();
    start_registry(&mut p, &[("KEEL_POLL_INTERVAL_MS", "3600000")]).await;
    for name in REPLICAS {
        p.start(AppSpec::keel().replica(name).env("KEEL_ROUTES_REFRESH_MS", "60000")).await;
    }
    wait_registered(&p, REGISTRY, "keel").await;
    p.start(fake("caller", &[])).await;
    assert_eq!(register(&p, REGISTRY, "caller", None).await.0, 201);
    everywhere(&p, "caller", 200).await;

    for round in 0..3 {
        let id = format!("target-{round}");
        p.start(fake(&id, &[])).await;
        assert_eq!(status_at(&p, "keel-b", &id).await, 404, "not registered yet");
        let (status, body) = register(&p, REGISTRY, &id, None).await;
        assert_eq!(status, 201, "{body}");
        let took = everywhere(&p, &id, 200).await;
        assert!(took < Duration::from_secs(1), "registration of {id} took {took:?} to reach every replica");

        let (status, body) = call("DELETE", &format!("{}/v1/plugins/{id}", api(&p, REGISTRY)), None).await;
        assert_eq!(status, 200, "{body}");
        let took = everywhere(&p, &id, 404).await;
        assert!(took < Duration::from_secs(1), "unregistration of {id} took {took:?} to reach every replica");
    }
}
