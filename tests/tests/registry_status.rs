//! Status polling: what a plugin reports is recorded, silence makes it `UNREACHABLE` after N polls,
//! the first good answer makes it `ACTIVE` again; each change reaches the route table. Detection
//! times are measured against the configured interval (500 ms, timeout 300 ms, N = 3).

mod registry_support;

use std::time::Duration;

use keel_e2e::Platform;
use registry_support::*;

const INTERVAL: Duration = Duration::from_millis(500);
const TIMEOUT: Duration = Duration::from_millis(300);
/// Room for a loaded two-core machine running other tests at the same time.
const SLACK: Duration = Duration::from_millis(2500);

async fn registered(id: &str) -> Platform {
    let mut p = Platform::new();
    start_registry(&mut p, &[]).await;
    p.start(fake(id, &[])).await;
    let (status, body) = register(&p, REGISTRY, id, None).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "ACTIVE");
    p
}

async fn table_status(p: &Platform, id: &str) -> String {
    routes(p, REGISTRY).await["plugins"][id]["status"].as_str().unwrap_or_default().to_owned()
}

#[actix_rt::test]
async fn reported_statuses_are_recorded_within_an_interval_and_active_comes_back() {
    let p = registered("flaky").await;
    for status in ["FAILED", "STOPPING", "STARTING", "ACTIVE"] {
        let version_before = routes(&p, REGISTRY).await["version"].as_u64().unwrap();
        fake_control(&p, "flaky", "status", status).await;
        let took = wait_status(&p, "flaky", status, Duration::from_secs(10)).await;
        println!("{status} detected after {took:?} (interval {INTERVAL:?})");
        assert!(took <= INTERVAL + TIMEOUT + SLACK, "{status} took {took:?}");
        assert_eq!(table_status(&p, "flaky").await, status);
        assert!(routes(&p, REGISTRY).await["version"].as_u64().unwrap() > version_before);
    }
}

#[actix_rt::test]
async fn a_silent_plugin_becomes_unreachable_after_three_polls_and_active_at_its_first_answer() {
    let p = registered("sleepy").await;
    fake_control(&p, "sleepy", "status-mode", "hang").await;
    let took = wait_status(&p, "sleepy", "UNREACHABLE", Duration::from_secs(15)).await;
    println!("UNREACHABLE detected after {took:?} (3 polls, interval {INTERVAL:?}, timeout {TIMEOUT:?})");
    // Three polls are needed: never before the third one, at most one interval late.
    assert!(took >= INTERVAL * 2, "marked after {took:?}: fewer than 3 polls");
    assert!(took <= INTERVAL * 4 + TIMEOUT + SLACK, "took {took:?}");
    let (_, view) = get_plugin(&p, REGISTRY, "sleepy").await;
    assert!(view["consecutive_failures"].as_u64().unwrap() >= 3, "{view}");
    assert!(
        view["last_error"].as_str().unwrap().contains("did not answer /v1/status within 300ms"),
        "{view}"
    );
    assert_eq!(table_status(&p, "sleepy").await, "UNREACHABLE");

    fake_control(&p, "sleepy", "status-mode", "ok").await;
    let took = wait_status(&p, "sleepy", "ACTIVE", Duration::from_secs(10)).await;
    println!("ACTIVE again after {took:?}");
    assert!(took <= INTERVAL + TIMEOUT + SLACK, "took {took:?}");
    let (_, view) = get_plugin(&p, REGISTRY, "sleepy").await;
    assert_eq!(view["consecutive_failures"], 0);
    assert!(view["last_error"].is_null());
}

#[actix_rt::test]
async fn a_killed_plugin_becomes_unreachable_and_active_again_once_restarted() {
    let mut p = registered("mortal").await;
    let dead = crash(&mut p, "mortal");
    let took = wait_status(&p, "mortal", "UNREACHABLE", Duration::from_secs(15)).await;
    println!("killed plugin UNREACHABLE after {took:?}");
    assert!(took <= INTERVAL * 4 + TIMEOUT + SLACK, "took {took:?}");
    let (_, view) = get_plugin(&p, REGISTRY, "mortal").await;
    assert!(view["last_error"].as_str().unwrap().contains("\"mortal\""), "{view}");

    p.restart(dead).await;
    let took = wait_status(&p, "mortal", "ACTIVE", Duration::from_secs(10)).await;
    println!("restarted plugin ACTIVE after {took:?}");
    assert!(took <= INTERVAL + TIMEOUT + SLACK, "took {took:?}");
}

#[actix_rt::test]
async fn an_erroring_status_endpoint_counts_as_no_answer() {
    let p = registered("grumpy").await;
    fake_control(&p, "grumpy", "status-mode", "error").await;
    wait_status(&p, "grumpy", "UNREACHABLE", Duration::from_secs(15)).await;
    let (_, view) = get_plugin(&p, REGISTRY, "grumpy").await;
    assert!(view["last_error"].as_str().unwrap().contains("HTTP 500"), "{view}");
}
