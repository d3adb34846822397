//! Supervision: a service killed with SIGKILL is answered 503 (with `Retry-After`) while it is
//! restarted, then served again, the restart and its signal recorded; one whose PID lives on
//! while its port refuses is found by the probes and restarted the same way; a service that keeps
//! crashing ends `FAILED`, with its exit codes, and is refused with 503 until restarted (only a
//! `FAILED` one is restarted on request).

mod hosting_support;

use hosting_support::*;
use keel_e2e::{eventually, Platform};

#[actix_rt::test]
async fn a_killed_service_is_503_while_it_restarts_then_served_with_the_restart_counted() {
    let mut p = Platform::new();
    // A backoff long enough to see the restart from outside.
    let h = start(
        &mut p,
        &[("KEEL_HOSTING__RESTART_BACKOFF_MIN_MS", "1500"), ("KEEL_HOSTING__RESTART_BACKOFF_MAX_MS", "3000")],
    )
    .await;
    assert_eq!(install(&p, hello_bundle("victim", "1.0.0", "victim", "")).await.0, 201);
    let first = wait_status(&p, "victim", "RUNNING").await;
    let pid = first["pid"].as_i64().unwrap();

    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), nix::sys::signal::Signal::SIGKILL)
        .unwrap();
    let url = format!("{}/victim/hello", h.local);
    let (headers, body) = eventually("503 while restarting", PATIENCE, || async {
        let (status, headers, body) = raw("GET", &url, None, &[]).await;
        (status == 503).then_some((headers, body))
    })
    .await;
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(
        ["ERR_SERVICE_STARTING", "ERR_SERVICE_UNREACHABLE"].contains(&v["code"].as_str().unwrap()),
        "{v}"
    );
    assert!(headers.get("retry-after").is_some(), "no Retry-After: {v}");
    assert_eq!(headers.get("x-keel-error").unwrap(), "1");

    let again = eventually("running again under a new pid", PATIENCE, || async {
        let v = service(&p, "victim").await;
        (v["status"] == "RUNNING" && v["pid"] != first["pid"]).then_some(v)
    })
    .await;
    let (status, v) = call("GET", &url, None).await;
    assert_eq!((status, v["pid"].as_i64()), (200, again["pid"].as_i64()), "{v}");
    assert_eq!(again["restarts"], 1, "{again}");
    assert_eq!(again["last_exit"]["signal"], 9, "{again}");
    assert!(service(&p, "victim").await["history"].as_array().unwrap().len() == 1);

    // Only a FAILED service is restarted on request: a running one is a 409 that says why.
    let (status, v) = call("POST", &format!("{}/v1/services/victim/restart", p.app_url(HOSTING)), None).await;
    assert_eq!((status, v["code"].as_str()), (409, Some("ERR_CONFLICT")), "{v}");
    assert!(v["msg"].as_str().unwrap().contains("RUNNING, not FAILED"), "{v}");
    assert_eq!(service(&p, "victim").await["pid"], again["pid"], "the refused restart touched it");
}

#[actix_rt::test]
async fn a_crash_loop_ends_failed_with_its_exit_codes() {
    let mut p = Platform::new();
    let h = start(&mut p, &[("KEEL_HOSTING__CRASH_BURST", "3"), ("KEEL_HOSTING__CRASH_WINDOW_MS", "60000")])
        .await;
    // A service that writes its PID and exits with 3 before ever listening.
    let script = b"#!/bin/sh\ncase \"$1\" in\n  start) sh -c 'echo $$ > pid.txt; sleep 0.2; exit 3' & ;;\n  stop) ;;\nesac\n";
    assert_eq!(install(&p, bundle_with_script("crashy", "1.0.0", "crashy", "", script)).await.0, 201);
    let view = wait_status(&p, "crashy", "FAILED").await;
    assert_eq!(view["restarts"], 2, "{view}");
    assert_eq!(view["last_exit"]["code"], 3, "{view}");
    let history = service(&p, "crashy").await["history"].as_array().cloned().unwrap();
    assert_eq!(history.len(), 3);
    // The listing (what keelctl and the console's Plugins page show) says FAILED too.
    let listed = list(&p).await;
    assert_eq!((listed.len(), listed[0]["status"].as_str()), (1, Some("FAILED")), "{listed:?}");
    assert!(history.iter().all(|e| e["code"] == 3), "{history:?}");

    let (status, headers, body) = raw("GET", &format!("{}/crashy/", h.local), None, &[]).await;
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!((status, v["code"].as_str()), (503, Some("ERR_SERVICE_FAILED")), "{v}");
    assert!(headers.get("retry-after").is_some());
    assert!(processes_in(&h.data_dir).is_empty(), "a crashed service left {:?}", processes_in(&h.data_dir));

    // A restart clears the crash count: it starts again and needs a whole burst to be FAILED
    // again (3 more exits, 2 more restarts).
    let (status, v) = call("POST", &format!("{}/v1/services/crashy/restart", p.app_url(HOSTING)), None).await;
    assert_eq!(status, 200, "{v}");
    let view = eventually("FAILED again after a whole burst", PATIENCE, || async {
        let v = service(&p, "crashy").await;
        (v["status"] == "FAILED" && v["restarts"] == 4).then_some(v)
    })
    .await;
    assert_eq!(view["history"].as_array().unwrap().len(), 6, "{view}");
}

#[actix_rt::test]
async fn a_service_that_stops_accepting_connections_while_its_pid_lives_is_restarted() {
    let mut p = Platform::new();
    let h = start(
        &mut p,
        &[("KEEL_HOSTING__RESTART_BACKOFF_MIN_MS", "1500"), ("KEEL_HOSTING__RESTART_BACKOFF_MAX_MS", "3000")],
    )
    .await;
    // pid.txt names a `sleep` that outlives the real server (which runs in inner/, its own
    // pid.txt there): killing the server leaves the watched PID alive and the port refusing.
    let script = br#"#!/bin/sh
case "$1" in
  start)
    mkdir -p inner
    rm -f inner/pid.txt
    (cd inner && exec nohup ../hello_service "$2" "$3" </dev/null) &
    while [ ! -s inner/pid.txt ]; do sleep 0.05; done
    nohup sleep 1000 </dev/null >/dev/null 2>&1 &
    echo $! > pid.txt
    ;;
  stop) [ -f pid.txt ] && kill -9 "$(cat pid.txt)" ;;
esac
"#;
    assert_eq!(install(&p, bundle_with_script("hollow", "1.0.0", "hollow", "", script)).await.0, 201);
    let first = wait_status(&p, "hollow", "RUNNING").await;
    let sleeper = first["pid"].as_i64().unwrap();
    let inner = workspace(&h, "hollow").join("inner/pid.txt");
    let server: i32 = std::fs::read_to_string(&inner).unwrap().trim().parse().unwrap();
    assert_ne!(i64::from(server), sleeper);

    nix::sys::signal::kill(nix::unistd::Pid::from_raw(server), nix::sys::signal::Signal::SIGKILL).unwrap();
    let url = format!("{}/hollow/hello", h.local);
    eventually("503 once the port refuses", PATIENCE, || async {
        let (status, headers, _) = raw("GET", &url, None, &[]).await;
        (status == 503 && headers.get("retry-after").is_some()).then_some(())
    })
    .await;
    let again = eventually("running again under a new pid", PATIENCE, || async {
        let v = service(&p, "hollow").await;
        (v["status"] == "RUNNING" && v["pid"] != first["pid"]).then_some(v)
    })
    .await;
    assert_eq!(again["restarts"], 1, "{again}");
    let reason = again["last_exit"]["reason"].as_str().unwrap();
    assert!(reason.contains("stopped accepting connections"), "{again}");
    assert!(!alive(sleeper), "the hung process (the watched PID) was not stopped");
    let (status, _) = call("GET", &url, None).await;
    assert_eq!(status, 200);
}
