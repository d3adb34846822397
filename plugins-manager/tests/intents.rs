//! Intents (`plugins_manager::intents`), in process through the stand-in's fake sidecar, with a
//! fake auth that records what it is asked to remove: a commit and the claim of its intent
//! exclude each other, credentials named by the record are kept, and the reconciler settles
//! only what nobody works on, then prunes its index.

use std::sync::{Arc, Mutex};

use actix_web::HttpResponse;
use keel_sdk::dapr::{SaveItem, TransactionOp};
use keel_sdk::protocol::{PluginStatus, RouteEntry};
use plugins_manager::intents::{intent_key, Op, Settled, INDEX_KEY};
use plugins_manager::{Config, Registry, RegistryError, RegistryState};
use serde_json::json;
use sidecar::test_util::FakeSidecar;

/// The `DELETE`s auth received, as `path?query`.
type Removals = Arc<Mutex<Vec<String>>>;

async fn setup(cfg: Config) -> (Registry, FakeSidecar, Removals) {
    let removals: Removals = Arc::default();
    let seen = removals.clone();
    let fake = FakeSidecar::builder("plugins")
        .app("auth", move |call| {
            let seen = seen.clone();
            async move {
                let query = call.request.query_string().to_owned();
                seen.lock().unwrap().push(format!("{}?{query}", call.method));
                HttpResponse::Ok().json(json!({"ret": 0, "msg": "ok", "deleted": true}))
            }
        })
        .start()
        .await;
    let reg = Registry::new(RegistryState::new(cfg, fake.client_config()));
    (reg, fake, removals)
}

fn entry() -> RouteEntry {
    RouteEntry::new(PluginStatus::Active, "1.0.0")
}

/// Commits `vault` into the table under `held`'s guard, as a registration does.
async fn commit(reg: &Registry, held: &plugins_manager::intents::Held) -> Result<(), RegistryError> {
    reg.store
        .commit_guarded(Some(held), |t| {
            t.plugins.insert("vault".into(), entry());
            Ok(vec![held.delete_op()])
        })
        .await
        .map(|_| ())
}

#[actix_rt::test]
async fn a_commit_after_its_intent_was_settled_never_lands_and_the_attempts_credentials_go() {
    let (reg, fake, removals) = setup(Config::default()).await;
    let held = reg.intents().begin("vault", Op::Register, Some("a1".into()), 0).await.unwrap();
    let again = reg.intents().begin("vault", Op::Register, Some("a2".into()), 0).await.unwrap_err();
    assert!(matches!(again, RegistryError::InProgress(_)), "{again}");

    // Settled by someone else (a reconciler after the grace, say) while the commit was stalled.
    assert_eq!(reg.intents().settle("vault").await.unwrap(), Settled::Removed);
    assert_eq!(*removals.lock().unwrap(), ["v1/clients/vault?registration=a1"]);
    let late = commit(&reg, &held).await.unwrap_err();
    assert!(matches!(late, RegistryError::Abandoned(_)), "{late}");
    assert!(!reg.routes().await.unwrap().plugins.contains_key("vault"), "the late commit landed");
    assert!(fake.value(&intent_key("vault")).is_none());
}

#[actix_rt::test]
async fn an_intent_whose_commit_landed_settles_to_nothing() {
    let (reg, fake, removals) = setup(Config::default()).await;
    let held = reg.intents().begin("vault", Op::Register, Some("a1".into()), 0).await.unwrap();
    commit(&reg, &held).await.unwrap();
    assert!(fake.value(&intent_key("vault")).is_none(), "the commit deletes its intent");
    assert_eq!(reg.intents().settle("vault").await.unwrap(), Settled::Nothing);
    assert!(removals.lock().unwrap().is_empty(), "the registered plugin's credentials were removed");
}

#[actix_rt::test]
async fn credentials_the_record_names_are_kept_and_others_removed() {
    let (reg, fake, removals) = setup(Config::default()).await;
    let record = |credentials: &str| {
        json!({"id": "vault", "identify": {"plugin_id": "vault", "version": "1.0.0"},
               "registered_at_ms": 1, "credentials": credentials})
    };
    // An unregistration whose commit did not happen: the plugin keeps its credentials.
    fake.set_value("keel-plugin-vault", &record("a1"));
    reg.intents().begin("vault", Op::Unregister, Some("a1".into()), 0).await.unwrap();
    assert_eq!(reg.intents().settle("vault").await.unwrap(), Settled::Kept);
    assert!(removals.lock().unwrap().is_empty());
    // A registration's attempt while the plugin is registered with other credentials.
    reg.intents().begin("vault", Op::Register, Some("a2".into()), 0).await.unwrap();
    assert_eq!(reg.intents().settle("vault").await.unwrap(), Settled::Removed);
    assert_eq!(*removals.lock().unwrap(), ["v1/clients/vault?registration=a2"]);
}

#[actix_rt::test]
async fn the_reconciler_settles_only_stale_or_claimed_intents_then_prunes_its_index() {
    let (reg, fake, removals) = setup(Config::default()).await;
    reg.intents().begin("live", Op::Register, Some("l1".into()), 0).await.unwrap();
    // Left by a dead owner long ago, and an index entry whose intent is gone.
    let stale = json!({"id": "stale", "op": "register", "attempt": "s1", "at_ms": 1, "claimed": false});
    fake.set_value(&intent_key("stale"), &stale);
    fake.set_value(INDEX_KEY, &json!({"ids": ["gone", "live", "stale"]}));

    assert_eq!(reg.reconcile().await.unwrap(), 1);
    assert_eq!(*removals.lock().unwrap(), ["v1/clients/stale?registration=s1"]);
    assert!(fake.value(&intent_key("live")).is_some(), "a live change was cut short");
    assert_eq!(fake.value(INDEX_KEY).unwrap(), json!({"ids": ["live"]}));

    // An id whose intent exists stays in the index.
    let dapr = fake.dapr();
    let index = json!({"ids": ["fresh", "live"]});
    let ops = [
        TransactionOp::Upsert(SaveItem::new(intent_key("fresh"), stale.clone()).first_write(None)),
        TransactionOp::Upsert(SaveItem::new(INDEX_KEY, index.clone())),
    ];
    dapr.transact("statestore", &ops).await.unwrap();
    reg.intents().prune().await.unwrap();
    assert_eq!(fake.value(INDEX_KEY).unwrap(), index);
}
