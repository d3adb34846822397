//! The route table's life in keel: pushes from the registry apply at once (and only the
//! registry's, and only newer ones), a change never drops a request already on its way, and a
//! restarted keel comes back with the table from the store while callers keep calling.

mod router_support;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use keel_e2e::{eventually, AppSpec, Platform};
use router_support::*;

#[actix_rt::test]
async fn a_push_applies_at_once_without_a_restart_or_dropping_requests() {
    let mut p = Platform::new();
    p.start(AppSpec::sidecar_only("caller")).await;
    p.start(AppSpec::sidecar_only(REGISTRY)).await;
    seed(&p, "caller", &table(1, &[("up", "ACTIVE"), ("caller", "ACTIVE")])).await;
    p.start(upstream("up")).await;
    p.start(upstream("late")).await;
    // Only pushes can change keel's table in this test: the timer is an hour.
    p.start(keel(&[("KEEL_ROUTES_REFRESH_MS", "3600000")])).await;
    wait_routes(&p, 1).await;
    refused(call(&p, "caller", "GET", "late/x"), 404, "ERR_UNKNOWN_PLUGIN", "\"late\"").await;

    let v2 = table(2, &[("up", "ACTIVE"), ("late", "ACTIVE"), ("caller", "ACTIVE")]);
    let (status, answer) = push(&p, REGISTRY, &v2).await;
    assert_eq!((status, &answer["applied"]), (200, &true.into()), "{answer}");
    let (status, _, seen) = send(call(&p, "caller", "GET", "late/x")).await;
    assert_eq!((status, seen["plugin"].as_str()), (200, Some("late")));

    // Only the registry pushes, and an older table never replaces a newer one.
    let (status, answer) = push(&p, "caller", &table(9, &[])).await;
    assert_eq!((status, answer["code"].as_str()), (403, Some("ERR_CALLER_NOT_ALLOWED")), "{answer}");
    let (status, answer) = push(&p, REGISTRY, &table(1, &[("caller", "ACTIVE")])).await;
    assert_eq!((status, &answer["applied"], &answer["version"]), (200, &false.into(), &2.into()), "{answer}");
    assert_eq!(send(call(&p, "caller", "GET", "late/x")).await.0, 200);

    // A request on its way when its plugin leaves the table still gets its answer.
    let slow = actix_rt::spawn(send(call(&p, "caller", "GET", "up/slow/1500")));
    eventually("the slow request in flight", Duration::from_secs(10), || async {
        (metric(&p, "keel_requests_in_flight").await >= 1.0).then_some(())
    })
    .await;
    let v3 = table(3, &[("late", "ACTIVE"), ("caller", "ACTIVE")]);
    assert_eq!(push(&p, REGISTRY, &v3).await.0, 200);
    refused(call(&p, "caller", "GET", "up/x"), 404, "ERR_UNKNOWN_PLUGIN", "\"up\"").await;
    let (status, _, _) = slow.await.unwrap();
    assert_eq!(status, 200, "the in-flight request was dropped by the route change");
}

/// When a call ended and its status (`None`: no answer in time).
type Outcome = (Instant, Option<u16>);

#[actix_rt::test]
async fn a_restarted_keel_comes_back_with_its_routes_from_the_store_under_load() {
    let mut p = Platform::new();
    p.start(AppSpec::sidecar_only("caller")).await;
    seed(&p, "caller", &table(5, &[("up", "ACTIVE"), ("caller", "ACTIVE")])).await;
    p.start(upstream("up")).await;
    p.start(keel(&[("KEEL_ROUTES_REFRESH_MS", "3600000")])).await;
    wait_routes(&p, 5).await;

    // Two callers call in a loop, each call bounded in time, until told to stop.
    let outcomes: Rc<RefCell<Vec<Outcome>>> = Rc::default();
    let stop = Rc::new(std::cell::Cell::new(false));
    let url = format!("{}/v1.0/invoke/keel/method/up/x", p.dapr_url("caller"));
    let mut loops = Vec::new();
    for _ in 0..2 {
        let (outcomes, stop, url) = (outcomes.clone(), stop.clone(), url.clone());
        loops.push(actix_rt::spawn(async move {
            let client = awc::Client::builder().timeout(Duration::from_secs(10)).finish();
            let started = Instant::now();
            while !stop.get() && started.elapsed() < Duration::from_secs(90) {
                let status = client.get(url.as_str()).send().await.ok().map(|r| r.status().as_u16());
                outcomes.borrow_mut().push((Instant::now(), status));
                if status != Some(200) {
                    // Back off a little while keel is down, to keep the loop bounded.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }));
    }
    let ok_now =
        |from: Instant| outcomes.borrow().iter().filter(|(t, s)| *t > from && *s == Some(200)).count();
    let began = Instant::now();
    eventually("calls succeeding before the restart", Duration::from_secs(20), || async {
        (ok_now(began) >= 20).then_some(())
    })
    .await;

    let crashed = p.kill(KEEL);
    let restarted_at = Instant::now();
    p.restart(crashed).await;
    // Back with the table from the store, with no push: the timer is an hour and nobody pushes.
    let version =
        eventually("keel loading its routes again", Duration::from_secs(30), || routes_version(&p)).await;
    assert_eq!(version, 5, "keel came back with another table than the store's");
    eventually("calls succeeding after the restart", Duration::from_secs(30), || async {
        (ok_now(restarted_at) >= 20).then_some(())
    })
    .await;
    stop.set(true);
    for l in loops {
        l.await.unwrap();
    }
    let outcomes = outcomes.borrow();
    let hung = outcomes.iter().filter(|(_, s)| s.is_none()).count();
    let before = outcomes.iter().filter(|(t, s)| *t < restarted_at && *s == Some(200)).count();
    assert!(before >= 20, "{before} calls succeeded before the restart");
    assert_eq!(hung, 0, "{hung} calls got no answer within 10 s");
    // While keel was down the caller's sidecar answered for it; once back, only 200s.
    let last_failure = outcomes.iter().filter(|(_, s)| *s != Some(200)).map(|(t, _)| *t).max();
    let after_last_failure =
        last_failure.map_or(outcomes.len(), |lf| outcomes.iter().filter(|(t, _)| *t > lf).count());
    assert!(
        after_last_failure >= 20,
        "calls kept failing after keel was back: {after_last_failure} successes since"
    );
}
