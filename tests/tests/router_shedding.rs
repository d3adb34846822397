//! Load shedding (issue 19, Envoy's circuit breakers): keel forwards a bounded number of
//! requests at once per plugin (and overall); past it a request waits the queue timeout for a
//! turn and is then refused fast with 503 `ERR_OVERLOADED` and `Retry-After`, while other plugins
//! are served as usual.

mod router_support;

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use keel_e2e::{eventually, AppSpec, Platform};
use router_support::*;

#[actix_rt::test]
async fn past_its_limit_a_plugin_sheds_fast_and_the_others_are_served() {
    let mut p = Platform::new();
    p.start(AppSpec::sidecar_only("caller")).await;
    seed(&p, "caller", &table(1, &[("up", "ACTIVE"), ("other", "ACTIVE"), ("caller", "ACTIVE")])).await;
    p.start(upstream("up")).await;
    p.start(upstream("other")).await;
    p.start(keel(&[("KEEL_MAX_IN_FLIGHT_PER_PLUGIN", "2"), ("KEEL_QUEUE_TIMEOUT_MS", "100")])).await;
    wait_routes(&p, 1).await;

    let timed = |path: &'static str| {
        let req = call(&p, "caller", "GET", path);
        async move {
            let started = Instant::now();
            let (status, headers, body) = send(req).await;
            (
                status,
                headers.get("retry-after").is_some(),
                body["code"].as_str().map(str::to_owned),
                started.elapsed(),
            )
        }
    };
    let slow = join_all((0..5).map(|_| timed("up/slow/2000")));
    let (slow, fast) = futures_util::join!(slow, async {
        // While `up` is full (its two turns taken), `other` is served.
        eventually("up's turns taken", Duration::from_secs(10), || async {
            (metric(&p, "keel_requests_in_flight").await >= 2.0).then_some(())
        })
        .await;
        timed("other/hello").await
    });
    let served = slow.iter().filter(|a| a.0 == 200).count();
    let shed: Vec<_> = slow.iter().filter(|a| a.0 == 503).collect();
    assert_eq!((served, shed.len()), (2, 3), "{slow:?}");
    for (_, retry_after, code, took) in shed {
        assert_eq!(code.as_deref(), Some("ERR_OVERLOADED"));
        assert!(retry_after, "503 without Retry-After");
        assert!(*took < Duration::from_millis(1500), "shed after {took:?}, not within the queue timeout");
    }
    assert_eq!(fast.0, 200, "another plugin was not served: {fast:?}");
}
