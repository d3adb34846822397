//! hosting itself going away: killed with SIGKILL, its services keep running, and the next
//! hosting sweeps them (no duplicate) and starts them again, even a service it was still starting
//! (its start script's process group is noted as soon as it is spawned); stopped gracefully, it stops them
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
async fn a_hosting_killed_while_a_service_starts_leaves_no_orphan_and_no_duplicate() {
    let mut p = Platform::new();
    let h = start(&mut p, &[]).await;
    // Its start script sleeps 4 s before it starts the service (which then writes pid.txt).
    let bundle = bundle_with_script("slowpoke", "1.0.0", "slowpoke", "", &slow_start_script(4));
    assert_eq!(install(&p, bundle).await.0, 201);
    wait_script_running(&p, &h, "slowpoke").await;
    let script = processes_in(&h.data_dir);

    p.kill_app_only(HOSTING);
    // The start script outlives its supervisor, out of the sidecar's tree (the test platform's
    // stop does not kill it for hosting).
    let sidecar = p.app(HOSTING).pid();
    eventually("hosting gone, its start script orphaned", PATIENCE, || async {
        let tree = keel_e2e::platform::descendants(sidecar);
        (!script.iter().any(|pid| tree.contains(&(*pid as i32)))).then_some(())
    })
    .await;
    let previous = p.stop(HOSTING);
    let orphans = processes_in(&h.data_dir);
    assert!(!orphans.is_empty(), "the start script (or the service it started) runs on");

    p.restart(previous).await;
    wait_active(&p).await;
    for pid in script.iter().chain(&orphans) {
        assert!(!alive(*pid), "the killed hosting's process {pid} was not swept");
    }
    // The new run's start took its 4 s too: had the old script survived, its service would run
    // by now beside the new one.
    let view = wait_status(&p, "slowpoke", "RUNNING").await;
    let pid = view["pid"].as_i64().unwrap();
    assert_eq!(processes_in(&h.data_dir), vec![pid], "one instance, nothing orphaned");
    assert_eq!(view["restarts"], 0, "{view}");
    let (status, _) = call("GET", &format!("{}/slowpoke/hello", h.local), None).await;
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
