//! The polling lease: with two registry replicas on one store only one polls, and when it dies
//! (SIGKILL, no chance to release) the other takes over within one lease period.

mod registry_support;

use std::time::{Duration, Instant};

use keel_e2e::{eventually, Platform};
use registry_support::*;

const LEASE: Duration = Duration::from_millis(2000);
const ACQUIRED: &str = "Polling lease acquired";

fn holders(p: &Platform) -> Vec<&'static str> {
    ["plugins", "plugins-b"].into_iter().filter(|r| p.logs(r).contains(ACQUIRED)).collect()
}

#[actix_rt::test]
async fn one_replica_polls_and_the_other_takes_over_within_a_lease_period() {
    let mut p = Platform::new();
    start_registry(&mut p, &[]).await;
    p.start(registry("plugins-b", &[])).await;
    p.start(fake("watched", &[])).await;
    let (status, body) = register(&p, "plugins-b", "watched", None).await;
    assert_eq!(status, 201, "{body}");

    let first = eventually("a replica holding the lease", Duration::from_secs(10), || async {
        let h = holders(&p);
        (h.len() == 1).then(|| h[0])
    })
    .await;
    // Several renewals later, still only one of them has ever held it.
    tokio::time::sleep(LEASE * 2).await;
    assert_eq!(holders(&p), vec![first], "both replicas polled");
    let lease =
        p.dapr(REGISTRY).get_state_json::<serde_json::Value>("statestore", "keel-plugins-poll-lease").await;
    assert!(lease.unwrap().is_some(), "the lease lives in the state store");

    let other = if first == "plugins" { "plugins-b" } else { "plugins" };
    crash(&mut p, first);
    let killed_at = Instant::now();
    eventually("the other replica taking over", Duration::from_secs(10), || async {
        p.logs(other).contains(ACQUIRED).then_some(())
    })
    .await;
    let took = killed_at.elapsed();
    println!("{other} took over {took:?} after {first} was killed (lease {LEASE:?})");
    assert!(took <= LEASE + Duration::from_millis(1000), "takeover took {took:?}");

    // And it polls: a status change is recorded by the survivor.
    fake_control(&p, "watched", "status", "FAILED").await;
    wait_status_on(&p, other, "watched", "FAILED", Duration::from_secs(10)).await;
}

#[actix_rt::test]
async fn a_replica_stopping_cleanly_hands_the_lease_over_at_once() {
    let mut p = Platform::new();
    start_registry(&mut p, &[]).await;
    eventually("plugins holding the lease", Duration::from_secs(10), || async {
        p.logs(REGISTRY).contains(ACQUIRED).then_some(())
    })
    .await;
    p.start(registry("plugins-b", &[])).await;
    p.stop(REGISTRY);
    let stopped_at = Instant::now();
    eventually("plugins-b taking over", Duration::from_secs(10), || async {
        p.logs("plugins-b").contains(ACQUIRED).then_some(())
    })
    .await;
    let took = stopped_at.elapsed();
    println!("takeover after a clean stop: {took:?}");
    // Released on the way out: the next look (every fifth of the lease) takes it.
    assert!(took <= LEASE / 5 + Duration::from_millis(500), "took {took:?}");
}
