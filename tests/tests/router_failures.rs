//! Plugins that fail keel: too slow (504 at the configured time limit, per plugin when the route
//! table says so), killed while answering, or gone (502, never a hang); keel not ready while its
//! own sidecar is dead; and a request in flight finishing when its plugin leaves the table.

mod router_support;

use std::time::{Duration, Instant};

use keel_e2e::{client, eventually, AppSpec, Platform};
use router_support::*;

#[actix_rt::test]
async fn a_slow_plugin_is_504_at_its_time_limit() {
    let mut p = Platform::new();
    p.start(AppSpec::sidecar_only("caller")).await;
    let mut routes = table(1, &[("up", "ACTIVE"), ("tight", "ACTIVE"), ("caller", "ACTIVE")]);
    routes["plugins"]["tight"]["timeout_ms"] = 300.into();
    seed(&p, "caller", &routes).await;
    p.start(upstream("up")).await;
    p.start(upstream("tight")).await;
    p.start(keel(&[("KEEL_UPSTREAM_TIMEOUT_MS", "3000")])).await;
    wait_routes(&p, 1).await;

    let timed = |path: &'static str| {
        let req = call(&p, "caller", "GET", path);
        async move {
            let started = Instant::now();
            let (status, headers, body) = send(req).await;
            (status, headers.get("x-keel-error").is_some(), body, started.elapsed())
        }
    };
    let (status, keel_error, body, took) = timed("up/slow/10000").await;
    assert_eq!((status, keel_error), (504, true), "{body}");
    assert_eq!(body["code"], "ERR_PLUGIN_TIMEOUT");
    assert!(body["msg"].as_str().unwrap().contains("\"up\""), "{body}");
    assert!(took >= Duration::from_millis(3000) && took < Duration::from_secs(10), "504 after {took:?}");

    let (status, _, _, took) = timed("tight/slow/10000").await;
    assert_eq!(status, 504);
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_millis(3000),
        "per-plugin limit: {took:?}"
    );

    // Within the limit, slow is fine.
    let (status, _, _, _) = timed("up/slow/200").await;
    assert_eq!(status, 200);
}

#[actix_rt::test]
async fn a_plugin_killed_mid_request_is_502_without_a_hang() {
    let mut p = Platform::new();
    p.start(AppSpec::sidecar_only("caller")).await;
    seed(&p, "caller", &table(1, &[("up", "ACTIVE"), ("caller", "ACTIVE")])).await;
    p.start(upstream("up")).await;
    p.start(keel(&[])).await;
    wait_routes(&p, 1).await;

    let pending = call(&p, "caller", "GET", "up/hang");
    let answer = actix_rt::spawn(async move { send(pending).await });
    // The request is inside keel (and on its way to, or at, the plugin).
    eventually("the request in flight in keel", Duration::from_secs(10), || async {
        (metric(&p, "keel_requests_in_flight").await >= 1.0).then_some(())
    })
    .await;
    p.kill_app_only("up");
    let (status, headers, body) = tokio::time::timeout(Duration::from_secs(15), answer)
        .await
        .expect("keel answered within 15 s of the plugin's death")
        .unwrap();
    assert_eq!(status, 502, "{body}");
    assert_eq!(headers.get("x-keel-error").unwrap(), "1");
    assert_eq!(body["code"], "ERR_PLUGIN_UNREACHABLE");
    assert!(body["msg"].as_str().unwrap().contains("\"up\""), "{body}");

    // And while it stays dead, every call is a quick 502.
    let started = Instant::now();
    refused(call(&p, "caller", "GET", "up/x"), 502, "ERR_PLUGIN_UNREACHABLE", "\"up\"").await;
    assert!(started.elapsed() < Duration::from_secs(10), "502 took {:?}", started.elapsed());
}

#[actix_rt::test]
async fn readyz_says_not_ready_while_keels_own_sidecar_is_dead() {
    let mut p = Platform::new();
    p.start(AppSpec::sidecar_only("caller")).await;
    seed(&p, "caller", &table(1, &[("caller", "ACTIVE")])).await;
    p.start(keel(&[])).await;
    let readyz = format!("{}/readyz", admin(&p));
    eventually("keel ready", Duration::from_secs(30), || async {
        (client().get(&readyz).send().await.ok()?.status() == 204).then_some(())
    })
    .await;
    // Every forwarded request goes through keel's sidecar: without it keel is not ready.
    p.kill_sidecar_only(KEEL);
    let mut res = eventually("keel not ready", Duration::from_secs(10), || async {
        let res = client().get(&readyz).send().await.ok()?;
        (res.status() == 503).then_some(res)
    })
    .await;
    let body = res.body().await.unwrap();
    assert!(String::from_utf8_lossy(&body).contains("sidecar"), "{body:?}");
}

/// Unregistering (or upgrading) a plugin never cuts the requests keel is forwarding to it: each
/// request copied its route when it was resolved, so a table without the plugin only refuses
/// the requests that come after it (`docs/router.md`, "Route table").
#[actix_rt::test]
async fn a_request_in_flight_finishes_when_its_plugin_leaves_the_table() {
    let mut p = Platform::new();
    p.start(AppSpec::sidecar_only("caller")).await;
    seed(&p, "caller", &table(1, &[("up", "ACTIVE"), ("caller", "ACTIVE")])).await;
    p.start(upstream("up")).await;
    p.start(keel(&[("KEEL_ROUTES_REFRESH_MS", "200")])).await;
    wait_routes(&p, 1).await;

    let in_flight = actix_rt::spawn(send(call(&p, "caller", "GET", "up/slow/5000")));
    // Once keel holds the request (its in-flight gauge), the plugin leaves the table.
    eventually("the slow request in flight", Duration::from_secs(10), || async {
        (metric(&p, "keel_requests_in_flight").await >= 1.0).then_some(())
    })
    .await;
    seed(&p, "caller", &table(2, &[("caller", "ACTIVE")])).await;
    wait_routes(&p, 2).await;
    assert!(!in_flight.is_finished(), "the table changed only after the request had finished");
    let (status, _, body) = send(call(&p, "caller", "GET", "up/hello")).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("ERR_UNKNOWN_PLUGIN")), "{body}");
    let (status, _, body) = in_flight.await.expect("the request in flight");
    assert_eq!(status, 200, "the request in flight was cut: {body}");
}
