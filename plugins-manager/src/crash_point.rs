//! The crash tests' fault hook, `test_crash_point` (never set in production): a named point of a
//! registration with a secret or an unregistration where the change stops for good, as if the process had died
//! there, so a test can kill it at exactly that point (tests/tests/registry_crash.rs).

use crate::config::Config;

/// After the intent, before auth is given the credentials.
pub const BEFORE_CREDENTIALS: &str = "before-credentials";
/// After auth has the credentials, before the commit.
pub const BEFORE_COMMIT: &str = "before-commit";
/// After a registration's commit, before it is answered.
pub const AFTER_COMMIT: &str = "after-commit";
/// After an unregistration's commit, before auth is told to remove the credentials.
pub const AFTER_UNREGISTER_COMMIT: &str = "after-unregister-commit";

/// Every point, for the configuration's check.
pub const NAMES: [&str; 4] = [BEFORE_CREDENTIALS, BEFORE_COMMIT, AFTER_COMMIT, AFTER_UNREGISTER_COMMIT];

/// Waits forever when `point` is the configured crash point; returns at once otherwise.
pub async fn reached(cfg: &Config, point: &'static str) {
    if cfg.test_crash_point == point {
        tracing::warn!(point, "Test crash point reached; waiting here until killed");
        std::future::pending::<()>().await;
    }
}
