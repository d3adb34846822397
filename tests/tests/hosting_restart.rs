//! hosting itself going away: killed with SIGKILL, its services keep running, and the next
//! hosting sweeps them (no duplicate) and starts them again; stopped gracefully, it stops them
//! and starts them again on its next start; with its data dir emptied, it unpacks them again
//! from the state store.

mod hosting_support;

use hosting_support::*;
use keel_e2e::{eventually, Platform};

#[actix_rt::test]
async fn a_killed_hosting_leaves_no_duplicate_and_its_services_serve_again() {
    let mut p = Platform::new();
    let h = start(&mut p, &[]).await;
    assert_eq!(install(&p, hello_bundle("survivor", "1.0.0", "survivor", "")).await.0, 201);
    let first = wait_status(&p, "survivor", "RUNNING").await;
    let pid = first["pid"].as_i64().unwrap();

    p.kill_app_only(HOSTING);
    // The service outlives its supervisor: once hosting is gone it belongs to no one of ours.
    let sidecar = p.app(HOSTING).pid();
    eventually("hosting gone, its service orphaned", PATIENCE, || async {
        (!keel_e2e::platform::descendants(sidecar).contains(&(pid as i32))).then_some(())
    })
    .await;
    assert!(alive(pid));
    let previous = p.stop(HOSTING);
    assert!(alive(pid));

    p.restart(previous).await;
    wait_active(&p).await;
    let again = wait_status(&p, "survivor", "RUNNING").await;
    assert!(!alive(pid), "the previous run's service was not swept");
    assert_ne!(again["pid"], first["pid"]);
    assert_eq!(processes_in(&h.data_dir), vec![again["pid"].as_i64().unwrap()]);
    let (status, _) = call("GET", &format!("{}/survivor/hello", h.local), None).await;
    assert_eq!(status, 200);

    // A graceful stop stops the service; the next start starts it again.
    let pid = again["pid"].as_i64().unwrap();
    let previous = p.stop(HOSTING);
    assert!(!alive(pid), "a graceful stop left the service running");
    assert!(processes_in(&h.data_dir).is_empty());
    p.restart(previous).await;
    let view = wait_status(&p, "survivor", "RUNNING").await;
    assert_eq!(view["restarts"], 0, "a platform restart is not a crash: {view}");
    let (status, _) = call("GET", &app_door(&p, "survivor/hello"), None).await;
    assert_eq!(status, 200);
}

#[actix_rt::test]
async fn an_emptied_data_dir_is_rebuilt_from_the_state_store() {
    let mut p = Platform::new();
    let h = start(&mut p, &[]).await;
    assert_eq!(install(&p, hello_bundle("phoenix", "1.0.0", "phoenix", "again")).await.0, 201);
    wait_status(&p, "phoenix", "RUNNING").await;
    let previous = p.stop(HOSTING);
    std::fs::remove_dir_all(&h.data_dir).unwrap();

    p.restart(previous).await;
    wait_status(&p, "phoenix", "RUNNING").await;
    let (status, v) = eventually("served again", PATIENCE, || async {
        let (s, v) = call("GET", &format!("{}/phoenix/hello", h.local), None).await;
        (s == 200).then_some((s, v))
    })
    .await;
    assert_eq!((status, v["args"].as_str()), (200, Some("again")));
}
