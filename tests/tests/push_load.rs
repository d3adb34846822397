//! The push API's cost at scale (ignored by default; `docs/push.md` has the figures): 1,000
//! pushed services each heartbeating every 30 s (the guide's interval), i.e. 33 heartbeats a
//! second, with the liveness sweep at its default 5 s. Measures the registry process's own CPU
//! time (from procfs, not the load generator's) over 60 s of steady heartbeats.
//!
//! `cargo nextest run -p keel-e2e -E 'binary(push_load)' --run-ignored only --no-capture`

mod push_support;

use std::time::{Duration, Instant};

use keel_e2e::Platform;
use push_support::{body, call, REGISTRY};
use serde_json::json;

const SERVICES: usize = 1_000;
const INTERVAL: Duration = Duration::from_secs(30);
const WINDOW: Duration = Duration::from_secs(60);

/// CPU seconds (user + system) of the registry app under `pid` (the `sidecar run` process).
fn registry_cpu(pid: u32) -> f64 {
    let mut total = 0.0;
    for child in keel_e2e::platform::descendants(pid) {
        let comm = std::fs::read_to_string(format!("/proc/{child}/comm")).unwrap_or_default();
        if comm.trim() != "plugins-manager" {
            continue;
        }
        let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
        let fields: Vec<&str> =
            stat.rsplit_once(')').map(|(_, r)| r.split_whitespace().collect()).unwrap_or_default();
        let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
        // After the command: state is field 0, utime 11, stime 12.
        total += (ticks(11) + ticks(12)) / 100.0;
    }
    total
}

#[actix_rt::test]
#[ignore = "a measurement: minutes long"]
async fn a_thousand_services_heartbeating_every_30_s_cost_the_registry_little() {
    let mut p = Platform::new();
    let (push, _) =
        push_support::platform(&mut p, None, None, &[("KEEL_PUSH__SWEEP_INTERVAL_MS", "5000")]).await;
    let started = Instant::now();
    for i in 0..SERVICES {
        let b = body(&format!("svc-{i}"), 9, json!({}));
        let (s, _, v) = call("POST", &format!("{push}/api/registry/register"), Some(&b)).await;
        assert_eq!(s, 201, "{v}");
    }
    println!("registered {SERVICES} services in {:?}", started.elapsed());
    let pid = p.app(REGISTRY).pid();
    let cpu_before = registry_cpu(pid);
    let t0 = Instant::now();
    let gap = INTERVAL / SERVICES as u32;
    let mut sent = 0usize;
    while t0.elapsed() < WINDOW {
        let due = t0 + gap * sent as u32;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            actix_rt::time::sleep(wait).await;
        }
        let beat = json!({"service_id": format!("svc-{}", sent % SERVICES), "status": "healthy"});
        let (s, _, v) = call("POST", &format!("{push}/api/registry/heartbeat"), Some(&beat)).await;
        assert_eq!(s, 200, "{v}");
        sent += 1;
    }
    let elapsed = t0.elapsed().as_secs_f64();
    let cpu = registry_cpu(pid) - cpu_before;
    let share = 100.0 * cpu / elapsed;
    println!(
        "{sent} heartbeats in {elapsed:.1} s ({:.1}/s): registry CPU {cpu:.2} s = {share:.2}% of one core",
        sent as f64 / elapsed
    );
    // The target (< 5% of a core) is for release builds, what production and the benchmark
    // run; a debug build (the test suite's) is several times slower and only reports.
    if !cfg!(debug_assertions) {
        assert!(share < 5.0, "the registry used {share:.2}% of a core");
    }
}
