//! Python tools the tests run (schemathesis, kubernetes-validate), each pip-installed once at a
//! pinned version into its own venv under `target/`. A failed install fails the test: a check
//! that silently does not run is worse than a red one.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The venv `<target>/<venv>` with `package==version` installed, installing it first when it is
/// missing or at another version; returns the venv's `bin/` folder. `target` is the cargo target
/// folder (`CARGO_TARGET_TMPDIR`'s parent in an integration test). Blocking.
pub fn pip_tool(target: &Path, venv: &str, package: &str, version: &str) -> PathBuf {
    let dir = target.join(venv);
    let python = dir.join("bin/python");
    let installed = || {
        Command::new(&python)
            .args(["-c", &format!("import importlib.metadata as m; print(m.version('{package}'))")])
            .output()
            .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == version)
    };
    if !installed() {
        // Tests run in parallel: one installs, the others wait for it.
        let _lock = InstallLock::take(&target.join(format!("{venv}.lock")));
        if installed() {
            return dir.join("bin");
        }
        let status = Command::new("python3")
            .args(["-m", "venv", "--clear"])
            .arg(&dir)
            .status()
            .expect("python3 -m venv");
        assert!(status.success(), "python3 -m venv {} failed", dir.display());
        let status = Command::new(dir.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .arg(format!("{package}=={version}"))
            .status()
            .expect("pip install");
        assert!(status.success(), "pip install {package}=={version} failed");
        assert!(installed(), "{package} {version} not importable after install");
    }
    dir.join("bin")
}

/// A directory made atomically as a lock; removed when dropped. A lock older than 10 minutes
/// was left by a killed run and is taken over.
struct InstallLock(PathBuf);

impl InstallLock {
    fn take(path: &Path) -> Self {
        let started = Instant::now();
        loop {
            if std::fs::create_dir(path).is_ok() {
                return Self(path.to_owned());
            }
            let stale = std::fs::metadata(path)
                .and_then(|m| m.modified())
                .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > Duration::from_secs(600)));
            if stale {
                let _ = std::fs::remove_dir(path);
            }
            assert!(started.elapsed() < Duration::from_secs(900), "waited 15 min for {}", path.display());
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

impl Drop for InstallLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}
