//! Passive health (issue 17 §4, Envoy's outlier detection): a plugin that dies is ejected by
//! keel after a few connection failures on live traffic, so callers get a quick 503 with
//! `Retry-After` instead of a 502 each until the registry's poll notices; keel tells the
//! registry, whose next poll marks it `UNREACHABLE` at once; active polling brings it back.

mod registry_support;

use std::time::{Duration, Instant};

use keel_e2e::{client, eventually, AppSpec, Platform};
use registry_support::*;
use serde_json::Value;

/// Poll every 4 s, `UNREACHABLE` after 3 failed polls: without passive health a dead plugin
/// would be 502 for 8–12 s.
const POLL_MS: &str = "4000";

async fn through_keel(p: &Platform) -> (u16, Option<String>, Value) {
    let url = format!("{}/v1.0/invoke/keel/method/target/hello", p.dapr_url("caller"));
    let mut res = client().get(url).send().await.expect("caller's sidecar");
    let retry = res.headers().get("retry-after").map(|v| v.to_str().unwrap_or_default().to_owned());
    let body = res.body().limit(1 << 20).await.unwrap_or_default();
    (res.status().as_u16(), retry, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[actix_rt::test]
async fn a_dead_plugin_is_ejected_after_three_failures_and_readmitted_when_it_is_back() {
    let mut p = Platform::new();
    start_registry(&mut p, &[("KEEL_POLL_INTERVAL_MS", POLL_MS), ("KEEL_UNREACHABLE_AFTER", "3")]).await;
    p.start(AppSpec::keel().env("KEEL_ROUTES_REFRESH_MS", "300").env("KEEL_OUTLIER_EJECTION_MS", "2000"))
        .await;
    wait_registered(&p, REGISTRY, "keel").await;
    p.start(fake("caller", &[])).await;
    p.start(fake("target", &[])).await;
    assert_eq!(register(&p, REGISTRY, "caller", None).await.0, 201);
    assert_eq!(register(&p, REGISTRY, "target", None).await.0, 201);
    eventually("target routed by keel", Duration::from_secs(30), || async {
        (through_keel(&p).await.0 == 200).then_some(())
    })
    .await;

    // The plugin dies; its sidecar stays, so keel's sidecar answers that it cannot reach it.
    p.kill_app_only("target");
    let died = Instant::now();
    let mut answers = Vec::new();
    for _ in 0..6 {
        answers.push(through_keel(&p).await);
    }
    let statuses: Vec<u16> = answers.iter().map(|a| a.0).collect();
    assert_eq!(statuses, [502, 502, 502, 503, 503, 503], "three failures eject: {answers:?}");
    let (_, retry, body) = &answers[3];
    assert_eq!(body["code"], "ERR_PLUGIN_NOT_ACTIVE", "{body}");
    assert_eq!(body["status"], "UNREACHABLE", "{body}");
    assert!(
        retry.as_deref().and_then(|r| r.parse::<u64>().ok()).is_some_and(|s| (1..=2).contains(&s)),
        "{retry:?}"
    );

    // keel told the registry: one failed probe marks it UNREACHABLE, well before three polls.
    let took = wait_status(&p, "target", "UNREACHABLE", Duration::from_secs(8)).await;
    assert!(
        died.elapsed() < Duration::from_secs(7),
        "UNREACHABLE only after {:?} ({took:?})",
        died.elapsed()
    );

    // Back: the registry's poll sees it ACTIVE, the table says so, keel readmits it.
    let dead = p.kill("target");
    p.restart(dead).await;
    wait_status(&p, "target", "ACTIVE", Duration::from_secs(15)).await;
    eventually("target readmitted by keel", Duration::from_secs(5), || async {
        (through_keel(&p).await.0 == 200).then_some(())
    })
    .await;
}
