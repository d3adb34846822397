//! Upgrading: the same app_id with a new version starts beside the old one and takes the route
//! once it serves; the old one is stopped after that. Under light load no request fails.

mod hosting_support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hosting_support::*;
use keel_e2e::{eventually, Platform};

#[actix_rt::test]
async fn an_upgrade_switches_versions_with_no_failed_request_under_light_load() {
    let mut p = Platform::new();
    let h = start(&mut p, &[]).await;
    assert_eq!(install(&p, hello_bundle("up", "1.0.0", "up", "v1")).await.0, 201);
    let old = wait_status(&p, "up", "RUNNING").await;
    let old_pid = old["pid"].as_i64().unwrap();

    // Light load: one request every 20 ms on each door, every answer kept.
    let stop = Arc::new(AtomicBool::new(false));
    let mut loads = Vec::new();
    for url in [format!("{}/up/hello", h.local), app_door(&p, "up/hello")] {
        let stop = stop.clone();
        loads.push(actix_rt::spawn(async move {
            let mut seen = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let (status, v) = call("GET", &url, None).await;
                seen.push((status, v["args"].as_str().unwrap_or_default().to_owned()));
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            seen
        }));
    }

    let (status, v) = install(&p, hello_bundle("up", "2.0.0", "up", "v2")).await;
    assert_eq!(status, 202, "{v}");
    assert_eq!(v["service"]["version"], "1.0.0", "the old version serves until the new one does");
    assert_eq!(v["service"]["upgrading"]["version"], "2.0.0");
    let new = eventually("version 2.0.0 serving", PATIENCE, || async {
        let v = service(&p, "up").await;
        (v["version"] == "2.0.0" && v["status"] == "RUNNING" && v.get("upgrading").is_none()).then_some(v)
    })
    .await;
    eventually("the old version stopped", PATIENCE, || async { (!alive(old_pid)).then_some(()) }).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    for load in loads {
        let seen = load.await.unwrap();
        let failed: Vec<_> = seen.iter().filter(|(s, _)| *s != 200).collect();
        assert!(failed.is_empty(), "{} of {} requests failed: {failed:?}", failed.len(), seen.len());
        assert_eq!(seen.first().unwrap().1, "v1");
        assert_eq!(seen.last().unwrap().1, "v2");
    }
    assert_ne!(new["pid"], old["pid"]);
    assert_eq!(processes_in(&h.data_dir).len(), 1, "{:?}", processes_in(&h.data_dir));
    // The old release's files are gone; the same version again is refused.
    let dirs: Vec<_> = std::fs::read_dir(h.data_dir.join("services/up")).unwrap().flatten().collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    let (status, v) = install(&p, hello_bundle("up", "2.0.0", "up", "v2")).await;
    assert_eq!((status, v["code"].as_str()), (409, Some("ERR_ALREADY_INSTALLED")), "{v}");
}

#[actix_rt::test]
async fn an_upgrade_that_never_serves_is_abandoned_and_the_old_version_keeps_serving() {
    let mut p = Platform::new();
    let h = start(&mut p, &[("KEEL_HOSTING__START_TIMEOUT_MS", "3000")]).await;
    assert_eq!(install(&p, hello_bundle("keep", "1.0.0", "keep", "v1")).await.0, 201);
    wait_status(&p, "keep", "RUNNING").await;
    let broken = b"#!/bin/sh\nexit 0\n";
    assert_eq!(install(&p, bundle_with_script("keep", "1.1.0", "keep", "v2", broken)).await.0, 202);
    let v = eventually("upgrade abandoned", PATIENCE, || async {
        let v = service(&p, "keep").await;
        v.get("last_upgrade_error").is_some().then_some(v)
    })
    .await;
    assert_eq!(v["version"], "1.0.0");
    assert!(v["last_upgrade_error"].as_str().unwrap().contains("pid.txt"), "{v}");
    let (status, v) = call("GET", &format!("{}/keep/hello", h.local), None).await;
    assert_eq!((status, v["args"].as_str()), (200, Some("v1")));
}
