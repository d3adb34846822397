//! Racing registrations: 50 distinct plugins registered at once across two registry replicas all
//! succeed, and each of 10 ids registered twice at once (once on each replica, so the race is
//! decided by the store, not by one process) succeeds exactly once.

mod registry_support;

use std::collections::BTreeMap;
use std::time::Instant;

use futures_util::future::join_all;
use keel_e2e::Platform;
use registry_support::*;

#[actix_rt::test]
async fn fifty_distinct_registrations_all_succeed_and_each_duplicate_exactly_once() {
    // No polling noise, and patience for 60 registrations at once on a small machine.
    let quiet = [("KEEL_POLL_INTERVAL_MS", "3600000"), ("KEEL_IDENTIFY_TIMEOUT_MS", "20000")];
    let mut p = Platform::new();
    start_registry(&mut p, &quiet).await;
    p.start(registry("plugins-b", &[quiet[0], quiet[1], ("KEEL_REGISTER_CORE", "false")])).await;
    let ids: Vec<String> = (0..50).map(|i| format!("racer-{i:02}")).collect();
    for id in &ids {
        p.start(fake(id, &[])).await;
    }
    let version_before = routes(&p, REGISTRY).await["version"].as_u64().unwrap();

    let replicas = ["plugins", "plugins-b"];
    let mut requests: Vec<(&str, &str)> =
        ids.iter().enumerate().map(|(i, id)| (id.as_str(), replicas[i % 2])).collect();
    requests.extend(ids.iter().take(10).enumerate().map(|(i, id)| (id.as_str(), replicas[(i + 1) % 2])));
    let started = Instant::now();
    let answers = join_all(requests.iter().map(|(id, replica)| register(&p, replica, id, None))).await;
    println!("{} registrations answered in {:?}", requests.len(), started.elapsed());

    let mut outcomes: BTreeMap<&str, Vec<u16>> = BTreeMap::new();
    for ((id, _), (status, body)) in requests.iter().zip(&answers) {
        assert!(*status == 201 || *status == 409, "{id}: {status} {body}");
        if *status == 409 {
            let msg = body["msg"].as_str().unwrap();
            assert!(msg.contains("already registered") || msg.contains("being registered"), "{msg}");
        }
        outcomes.entry(id).or_default().push(*status);
    }
    for (id, statuses) in &outcomes {
        assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{id}: {statuses:?}");
    }

    // Nothing lost: every plugin in the table and in its record, one table version per success.
    let table = routes(&p, REGISTRY).await;
    for id in &ids {
        assert_eq!(table["plugins"][id]["status"], "ACTIVE", "{id} missing from the table");
        assert!(stored_record(&p, id).await.is_some(), "{id} has no record");
    }
    assert_eq!(table["version"].as_u64().unwrap(), version_before + 50);
    let (_, listing) = call("GET", &format!("{}/v1/plugins?limit=1000", api(&p, "plugins-b")), None).await;
    assert_eq!(listing["total"], 51, "50 racers and the registry itself");
}
