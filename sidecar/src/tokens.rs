//! API tokens for a local run that configures none (a deliberate difference from `dapr run`,
//! which only passes on what the shell exports).
//!
//! For `sidecar run -f`, every app that has a command and no `DAPR_API_TOKEN` (or no
//! `APP_API_TOKEN`) in its environment — the run's own overlaid with the run file's `env` — gets
//! a random one for this run: its sidecar enforces it (`dapr-api-token` required on every API
//! call but healthz; `dapr-api-token` sent to the app), and the app receives it in its
//! environment as under `dapr run` with exported tokens, so the SDKs and Keel's kit use it. No
//! other local process can then call an app's sidecar as that app, or its app port as its
//! sidecar. The tokens are never printed or logged.
//!
//! A tool or test that calls a sidecar itself finds them in `--tokens-dir` (`$SIDECAR_TOKENS_DIR`)
//! when it is given: one `<app-id>.env` file per app (`DAPR_API_TOKEN=...` and `APP_API_TOKEN=...`
//! lines, mode 0600, in a folder made 0700), removed when the run stops. Without it nothing is
//! written anywhere; to choose the tokens, export them before the run.

use crate::config::AppPlan;
use rand::RngCore;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The file name in `--tokens-dir` for an app.
pub fn file_name(app_id: &str) -> String {
    format!("{app_id}.env")
}

/// A fresh token: 32 random bytes, hex.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    crate::security::hex(&bytes)
}

/// Gives every app with a command the tokens it lacks; returns how many apps got one.
pub fn generate_missing(plans: &mut [AppPlan]) -> usize {
    let mut count = 0;
    for plan in plans {
        let Some(cmd) = plan.command.as_mut() else { continue };
        let s = &mut plan.sidecar;
        let mut generated = false;
        for (slot, name) in
            [(&mut s.dapr_api_token, "DAPR_API_TOKEN"), (&mut s.app_api_token, "APP_API_TOKEN")]
        {
            if slot.is_none() {
                let token = random_token();
                cmd.env.push((name.to_owned(), token.clone()));
                *slot = Some(token);
                generated = true;
            }
        }
        if generated {
            tracing::debug!(app_id = %s.app_id, "Generated API tokens for this run");
            count += 1;
        }
    }
    count
}

/// The token files of a run; dropping it removes them.
pub struct TokenFiles {
    paths: Vec<PathBuf>,
}

impl TokenFiles {
    /// Writes `<dir>/<app-id>.env` for every app with a token.
    pub fn write(dir: &Path, plans: &[AppPlan]) -> std::io::Result<TokenFiles> {
        std::fs::create_dir_all(dir)?;
        std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
        let mut files = TokenFiles { paths: Vec::new() };
        for plan in plans {
            let s = &plan.sidecar;
            if s.dapr_api_token.is_none() && s.app_api_token.is_none() {
                continue;
            }
            let path = dir.join(file_name(&s.app_id));
            let _ = std::fs::remove_file(&path);
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut f = options.open(&path)?;
            files.paths.push(path);
            for (name, value) in [("DAPR_API_TOKEN", &s.dapr_api_token), ("APP_API_TOKEN", &s.app_api_token)]
            {
                if let Some(v) = value {
                    writeln!(f, "{name}={v}")?;
                }
            }
        }
        Ok(files)
    }
}

impl Drop for TokenFiles {
    fn drop(&mut self) {
        for p in &self.paths {
            let _ = std::fs::remove_file(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AppCommand, SidecarConfig};

    fn plan(id: &str, command: bool, dapr_token: Option<&str>) -> AppPlan {
        let mut sidecar = SidecarConfig::new(id, PathBuf::new());
        sidecar.dapr_api_token = dapr_token.map(str::to_owned);
        let command =
            command.then(|| AppCommand { argv: vec!["app".into()], dir: PathBuf::new(), env: vec![] });
        AppPlan { sidecar, command, app_protocol: "http".into() }
    }

    #[test]
    fn apps_without_tokens_get_their_own_and_see_them() {
        let mut plans = vec![plan("a", true, None), plan("b", true, Some("mine")), plan("tool", false, None)];
        assert_eq!(generate_missing(&mut plans), 2);
        let a = &plans[0];
        let token = a.sidecar.dapr_api_token.clone().unwrap();
        assert_eq!(token.len(), 64);
        let env = &a.command.as_ref().unwrap().env;
        assert!(env.contains(&("DAPR_API_TOKEN".into(), token.clone())));
        assert!(env.iter().any(|(k, v)| k == "APP_API_TOKEN" && Some(v) == a.sidecar.app_api_token.as_ref()));
        // An exported token is kept; only the missing app token is made.
        assert_eq!(plans[1].sidecar.dapr_api_token.as_deref(), Some("mine"));
        assert!(plans[1].sidecar.app_api_token.is_some());
        assert_ne!(plans[1].sidecar.app_api_token, a.sidecar.app_api_token, "per app");
        // A sidecar without an app has nobody to give a token to.
        assert!(plans[2].sidecar.dapr_api_token.is_none());
    }

    #[test]
    fn token_files_are_private_and_go_away_with_the_run() {
        let dir = tempfile::tempdir().unwrap();
        let tokens = dir.path().join("tokens");
        let mut plans = vec![plan("a", true, None)];
        generate_missing(&mut plans);
        let files = TokenFiles::write(&tokens, &plans).unwrap();
        let path = tokens.join("a.env");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains(&format!("DAPR_API_TOKEN={}\n", plans[0].sidecar.dapr_api_token.as_ref().unwrap()))
        );
        let mode =
            |p: &Path| std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(p).unwrap().permissions());
        assert_eq!(mode(&path) & 0o777, 0o600);
        assert_eq!(mode(&tokens) & 0o777, 0o700);
        drop(files);
        assert!(!path.exists());
    }
}
