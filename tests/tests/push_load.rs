//! The push API's cost at scale (ignored by default; `docs/push.md` has the figures): 1,000
//! pushed services shaped like the guide's, each heartbeating every 30 s (the guide's interval),
//! i.e. 33 heartbeats a second, and each giving a `health_check_url` that the liveness sweep
//! probes every 5 s (its default), i.e. 200 probes a second through the registry's sidecar, all
//! answered by one small responder in this process. Measures the registry process's own CPU time
//! (from procfs, not the load generator's) over 60 s of steady heartbeats, in two rows: open
//! registration from loopback (the guide's), and heartbeats carrying a client-credentials token
//! (production's, as `examples/py-pushed`), each verified by the registry.
//!
//! `cargo nextest run -p keel-e2e -E 'binary(push_load)' --run-ignored only --no-capture`

mod push_support;
mod registry_support;

use std::time::{Duration, Instant};

use keel_e2e::{eventually, Platform};
use push_support::{body, client_from, client_token, Outside, REGISTRY};
use serde_json::{json, Value};

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

/// `POST url` with `body`, with `Authorization: Bearer <token>` when given: the status and body.
async fn post(url: &str, body: &Value, token: Option<&str>) -> (u16, Value) {
    let mut req = client_from(None).post(url);
    if let Some(t) = token {
        req = req.insert_header(("authorization", format!("Bearer {t}")));
    }
    let mut res = req.send_json(body).await.unwrap_or_else(|e| panic!("POST {url}: {e}"));
    let bytes = res.body().await.unwrap_or_default();
    (res.status().as_u16(), serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// Registers the services (with `token` when given), waits until the sweep has probed them all
/// once, then heartbeats them for [`WINDOW`] and reports the registry's CPU share.
async fn measure(p: &Platform, push: &str, token: Option<&str>, what: &str) -> f64 {
    let responder = Outside::start();
    let register = format!("{push}/api/registry/register");
    let shaped = |i: usize| body(&format!("svc-{i}"), responder.port, json!({"health_check_url": "/health"}));
    // With a token, the registry must have auth's keys first.
    eventually("the first registration", Duration::from_secs(30), || async {
        let (s, v) = post(&register, &shaped(0), token).await;
        assert!(s == 201 || s == 401, "{v}");
        (s == 201).then_some(())
    })
    .await;
    let started = Instant::now();
    for i in 1..SERVICES {
        let (s, v) = post(&register, &shaped(i), token).await;
        assert_eq!(s, 201, "{v}");
    }
    println!("{what}: registered {SERVICES} services in {:?}", started.elapsed());
    // One sweep's probes of every service before the window (they are part of what it measures).
    actix_rt::time::sleep(Duration::from_secs(6)).await;
    let pid = p.app(REGISTRY).pid();
    let cpu_before = registry_cpu(pid);
    let t0 = Instant::now();
    let gap = INTERVAL / SERVICES as u32;
    let heartbeat = format!("{push}/api/registry/heartbeat");
    let mut sent = 0usize;
    while t0.elapsed() < WINDOW {
        let due = t0 + gap * sent as u32;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            actix_rt::time::sleep(wait).await;
        }
        let beat = json!({"service_id": format!("svc-{}", sent % SERVICES), "status": "healthy"});
        let (s, v) = post(&heartbeat, &beat, token).await;
        assert_eq!((s, v["status"].as_str()), (200, Some("ACTIVE")), "{v}");
        sent += 1;
    }
    let elapsed = t0.elapsed().as_secs_f64();
    let cpu = registry_cpu(pid) - cpu_before;
    let share = 100.0 * cpu / elapsed;
    println!(
        "{what}: {sent} heartbeats in {elapsed:.1} s ({:.1}/s), {SERVICES} health probes every 5 s: registry CPU {cpu:.2} s = {share:.2}% of one core",
        sent as f64 / elapsed
    );
    responder.stop().await;
    share
}

/// The target (< 5% of a core) is for release builds, what production and the benchmark run; a
/// debug build (the test suite's) is several times slower and only reports.
fn check(share: f64) {
    if !cfg!(debug_assertions) {
        assert!(share < 5.0, "the registry used {share:.2}% of a core");
    }
}

#[actix_rt::test]
#[ignore = "a measurement: minutes long"]
async fn a_thousand_guide_shaped_services_heartbeating_every_30_s_cost_the_registry_little() {
    let mut p = Platform::new();
    let (push, _) =
        push_support::platform(&mut p, None, None, &[("KEEL_PUSH__SWEEP_INTERVAL_MS", "5000")]).await;
    check(measure(&p, &push, None, "open registration").await);
}

#[actix_rt::test]
#[ignore = "a measurement: minutes long"]
async fn a_thousand_services_heartbeating_with_client_tokens_cost_the_registry_little() {
    let mut p = Platform::new();
    p.start(registry_support::auth()).await;
    let env = [("KEEL_PUSH__SWEEP_INTERVAL_MS", "5000"), ("KEEL_GRANTS__PUSHER", "register-plugins")];
    let (push, _) = push_support::platform(&mut p, None, None, &env).await;
    let token = client_token(&p, "pusher").await;
    check(measure(&p, &push, Some(&token), "client-credentials token").await);
}
