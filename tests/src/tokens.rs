//! The API tokens of a `sidecar run -f` (issue 13 §6): with none configured the run gives every
//! app its own random `DAPR_API_TOKEN` and `APP_API_TOKEN`, enforced by its sidecar. A test that
//! calls a sidecar itself starts the run with `SIDECAR_TOKENS_DIR` set to [`RunTokens::dir`] and
//! reads the app's token back here (the run writes `<dir>/<app-id>.env`, owner-only, and removes
//! it when it stops).
//!
//! Tests built on [`crate::Platform`] start each app in the stand-in's single-app mode, which (like
//! `dapr run`) makes no tokens: a test that wants them passes `DAPR_API_TOKEN` / `APP_API_TOKEN`
//! in the app's environment and so knows them already.

use std::path::{Path, PathBuf};

/// Where a run writes its apps' tokens.
#[derive(Debug, Clone)]
pub struct RunTokens {
    dir: PathBuf,
}

impl RunTokens {
    /// Tokens in `dir` (created by the run).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        RunTokens { dir: dir.into() }
    }

    /// The folder to give the run as `SIDECAR_TOKENS_DIR`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `name` (`DAPR_API_TOKEN` or `APP_API_TOKEN`) of app `app_id`, if the run wrote one.
    pub fn get(&self, app_id: &str, name: &str) -> Option<String> {
        let text = std::fs::read_to_string(self.dir.join(format!("{app_id}.env"))).ok()?;
        text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix('=')).map(str::to_owned)
    }

    /// App `app_id`'s `DAPR_API_TOKEN`, what its sidecar wants in `dapr-api-token`.
    pub fn dapr(&self, app_id: &str) -> String {
        self.get(app_id, "DAPR_API_TOKEN")
            .unwrap_or_else(|| panic!("the run gave {app_id} no DAPR_API_TOKEN"))
    }
}
