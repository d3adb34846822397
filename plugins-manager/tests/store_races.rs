//! `Store::commit` under races, in process: two "replicas" (each with its own commit lock, so only
//! the ETag stands between them) change the route table at once through the stand-in's fake
//! sidecar (`sidecar::test_util`), and no change is lost.

use futures_util::future::join_all;
use keel_sdk::dapr::SidecarConfig;
use keel_sdk::protocol::{PluginStatus, RouteEntry};
use plugins_manager::{Config, Registry, RegistryState};
use sidecar::test_util::FakeSidecar;

/// The registry's sidecar: the state API only (it serves until the test's system ends).
async fn fake_sidecar() -> SidecarConfig {
    FakeSidecar::builder("plugins").start().await.client_config()
}

fn entry() -> RouteEntry {
    RouteEntry::new(PluginStatus::Active, "1.0.0")
}

#[actix_rt::test]
async fn racing_replicas_never_lose_a_change() {
    let sidecar = fake_sidecar().await;
    let a = Registry::new(RegistryState::new(Config::default(), sidecar.clone()));
    let b = Registry::new(RegistryState::new(Config::default(), sidecar));
    let commits = (0..60).map(|i| {
        let replica = if i % 2 == 0 { a.clone() } else { b.clone() };
        async move {
            replica
                .store
                .commit(|t| {
                    t.plugins.insert(format!("p-{i:02}"), entry());
                    Ok(Vec::new())
                })
                .await
        }
    });
    for outcome in join_all(commits).await {
        assert!(outcome.unwrap().is_some());
    }
    let (table, _) = a.store.table().await.unwrap();
    assert_eq!(table.plugins.len(), 60, "a change was lost");
    assert_eq!(table.version, 60, "one version per change");
}

#[actix_rt::test]
async fn a_refused_change_writes_nothing_and_an_empty_one_does_not_bump_the_version() {
    let sidecar = fake_sidecar().await;
    let reg = Registry::new(RegistryState::new(Config::default(), sidecar));
    reg.store
        .commit(|t| {
            t.plugins.insert("kept".into(), entry());
            Ok(Vec::new())
        })
        .await
        .unwrap();
    let refused = reg
        .store
        .commit(|t| {
            t.plugins.clear();
            Err(plugins_manager::RegistryError::NotFound("x".into()))
        })
        .await;
    assert!(refused.is_err());
    assert_eq!(reg.store.commit(|_| Ok(Vec::new())).await.unwrap(), None);
    let (table, _) = reg.store.table().await.unwrap();
    assert_eq!((table.version, table.plugins.len()), (1, 1));
}
