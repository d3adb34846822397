//! The polling lease, seen from the plugin: with two registry replicas on one store only the one
//! holding the lease calls `/v1/status`; when it dies (SIGKILL, no chance to release) the other
//! starts polling within the lease (`lease_ms`, plugins-manager/README.md "Status polling"), and
//! when it stops cleanly, at the other's next look at the lease. The fake plugin counts its
//! status calls by the app-id each replica's sidecar stamps, so a replica that polled without
//! the lease fails here.

mod registry_support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use keel_e2e::{eventually, Platform};
use registry_support::*;

/// The second replica (the first is `plugins`).
const OTHER_REPLICA: &str = "plugins-b";

/// What a poll takes to reach the plugin once a replica holds the lease: the poller reads the
/// health and the route table from the store, then calls through two sidecars.
const ONE_POLL: Duration = Duration::from_millis(1000);

/// The plugin whose status calls are counted.
const WATCHED: &str = "watched";

/// `/v1/status` calls of [`WATCHED`] by `replica` since `base`.
fn since(now: &BTreeMap<String, u64>, base: &BTreeMap<String, u64>, replica: &str) -> u64 {
    now.get(replica).copied().unwrap_or(0) - base.get(replica).copied().unwrap_or(0)
}

/// Waits until `replica` has polled [`WATCHED`] `polls` times since `base`, failing at once if
/// `idle` polls it meanwhile.
async fn polls_alone(p: &Platform, base: &BTreeMap<String, u64>, replica: &str, polls: u64, idle: &str) {
    // Each poll takes an interval; twice that, and a few seconds for a loaded machine.
    let limit = POLL_INTERVAL * 2 * polls as u32 + Duration::from_secs(5);
    eventually(&format!("{replica} polling {WATCHED} {polls} times"), limit, || async {
        let now = status_calls(p, WATCHED).await;
        let stray = since(&now, base, idle);
        assert_eq!(stray, 0, "{idle} polled {stray} times while {replica} held the lease: {now:?}");
        (since(&now, base, replica) >= polls).then_some(())
    })
    .await;
}

#[actix_rt::test]
async fn only_the_lease_holder_polls_and_the_other_takes_over_within_the_lease() {
    let mut p = Platform::new();
    start_registry(&mut p, &[]).await;
    p.start(registry(OTHER_REPLICA, &[])).await;
    p.start(fake(WATCHED, &[])).await;
    let (status, body) = register(&p, OTHER_REPLICA, WATCHED, None).await;
    assert_eq!(status, 201, "{body}");
    // Registering checked the status once: count the polls after it.
    let base = status_calls(&p, WATCHED).await;

    // Both replicas run: the first to poll is the lease holder...
    let leader = eventually("a replica polling", Duration::from_secs(10), || async {
        let now = status_calls(&p, WATCHED).await;
        match (since(&now, &base, REGISTRY), since(&now, &base, OTHER_REPLICA)) {
            (0, 0) => None,
            (_, 0) => Some(REGISTRY),
            (0, _) => Some(OTHER_REPLICA),
            both => panic!("both replicas polled: {both:?}"),
        }
    })
    .await;
    let other = if leader == REGISTRY { OTHER_REPLICA } else { REGISTRY };
    // ... and it polls alone over two lease periods, ten renewals of the lease.
    let two_leases = (LEASE * 2).as_millis() / POLL_INTERVAL.as_millis();
    polls_alone(&p, &base, leader, two_leases as u64, other).await;
    let lease = p
        .dapr(leader)
        .get_state_json::<serde_json::Value>("statestore", "keel-plugins-poll-lease")
        .await
        .expect("read the lease");
    assert!(lease.is_some(), "the lease lives in the state store");

    // The holder dies without releasing it: the other polls within the lease.
    let killed_at = Instant::now();
    crash(&mut p, leader);
    eventually(&format!("{other} polling after {leader} died"), Duration::from_secs(10), || async {
        (since(&status_calls(&p, WATCHED).await, &base, other) > 0).then_some(())
    })
    .await;
    let took = killed_at.elapsed();
    println!("{other} polled {took:?} after {leader} was killed (lease {LEASE:?})");
    assert!(took <= LEASE + ONE_POLL, "{other} took {took:?} to poll; the lease is {LEASE:?}");

    // And it goes on polling: every interval, and a status change is recorded by it.
    let taken = status_calls(&p, WATCHED).await;
    polls_alone(&p, &taken, other, 3, leader).await;
    fake_control(&p, WATCHED, "status", "FAILED").await;
    wait_status_on(&p, other, WATCHED, "FAILED", Duration::from_secs(10)).await;
}

#[actix_rt::test]
async fn a_replica_stopping_cleanly_hands_the_polling_over_at_once() {
    let mut p = Platform::new();
    start_registry(&mut p, &[]).await;
    p.start(fake(WATCHED, &[])).await;
    let (status, body) = register(&p, REGISTRY, WATCHED, None).await;
    assert_eq!(status, 201, "{body}");
    let base = status_calls(&p, WATCHED).await;
    polls_alone(&p, &base, REGISTRY, 1, OTHER_REPLICA).await;

    // A second replica, started while the first holds the lease, does not poll...
    p.start(registry(OTHER_REPLICA, &[])).await;
    let joined = status_calls(&p, WATCHED).await;
    polls_alone(&p, &joined, REGISTRY, 3, OTHER_REPLICA).await;

    // ... until the first stops: it releases the lease on its way out, and the other takes it at
    // its next look (every fifth of the lease), long before the lease would have run out.
    let stopping = Instant::now();
    p.stop(REGISTRY);
    eventually(&format!("{OTHER_REPLICA} polling"), Duration::from_secs(10), || async {
        (since(&status_calls(&p, WATCHED).await, &joined, OTHER_REPLICA) > 0).then_some(())
    })
    .await;
    let took = stopping.elapsed();
    println!("{OTHER_REPLICA} polled {took:?} after {REGISTRY} was told to stop");
    // Without the release the lease runs out 3/5 to 4/5 of it after the last renewal.
    let handed_over = LEASE / 5 + Duration::from_millis(500);
    assert!(took <= handed_over, "took {took:?}; a released lease is taken within {handed_over:?}");
}
