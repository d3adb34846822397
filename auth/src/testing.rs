//! Test doubles: auth booted on the stand-in's fake sidecar (`sidecar::test_util`, its real
//! state API on an in-memory store: ETags, first-write and transactions as daprd has them).

use actix_web::web;
use sidecar::test_util::FakeSidecar;

use crate::{bootstrap, keys, AuthState, Config, Store};

/// The password of the harness's super-admin.
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

/// Auth booted on a fake sidecar, with cheap Argon2 settings.
pub struct Harness {
    pub fake: FakeSidecar,
    pub shared: web::Data<AuthState>,
    pub store: Store,
}

impl Harness {
    /// The default test configuration, changed by `edit`.
    pub async fn with(edit: impl FnOnce(&mut Config)) -> Self {
        let fake = FakeSidecar::builder("auth").start().await;
        let mut cfg = Config {
            argon2_memory_kib: 64,
            argon2_iterations: 1,
            argon2_parallelism: 1,
            admin_password: Some(ADMIN_PASSWORD.to_owned()),
            clock_leeway_seconds: 0,
            // The fake sidecar has one store: private and shared are the same.
            store: keel_sdk::protocol::STATE_STORE.to_owned(),
            shared_store: keel_sdk::protocol::STATE_STORE.to_owned(),
            ..Config::default()
        };
        edit(&mut cfg);
        Self::boot(fake, cfg).await
    }

    /// Boots (again) on `fake`: what a restart does.
    pub async fn boot(fake: FakeSidecar, cfg: Config) -> Self {
        let store = Store::new(fake.dapr(), &cfg.store);
        let shared = AuthState::new(cfg, crate::sealing::Sealer::new(&[9; 32])).unwrap();
        let ring =
            keys::load_or_create(&store, None, &shared.sealer, keel_sdk::tokens::now_secs()).await.unwrap();
        shared.install_ring(&ring).unwrap();
        shared.reload(&store).await.unwrap();
        bootstrap::run(&shared, &store).await.unwrap();
        Self { fake, shared: web::Data::new(shared), store }
    }

    /// Default settings.
    pub async fn new() -> Self {
        Self::with(|_| {}).await
    }
}

/// The app for `actix_web::test`: the same routes `start` serves.
#[macro_export]
macro_rules! test_app {
    ($h:expr) => {
        actix_web::test::init_service(
            actix_web::App::new()
                .app_data($h.shared.clone())
                .app_data(actix_web::web::Data::new($h.store.clone()))
                .configure($crate::api::configure),
        )
        .await
    };
}
