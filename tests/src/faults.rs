//! Faults a test puts on the machine under the platform, undone when the test ends.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Paths made immutable (`chattr +i`: even root cannot write them, unlike after a `chmod`), as a
/// disk turned read-only would be for them; mutable again when dropped, so a failing test still
/// leaves a folder that can be removed. `chattr` comes with e2fsprogs (`scripts/test-deps`).
pub struct Immutable(Vec<PathBuf>);

impl Immutable {
    /// Makes each of `paths` immutable; panics, naming the path, when `chattr` cannot.
    pub fn set(paths: &[&Path]) -> Self {
        let guard = Immutable(paths.iter().map(|p| p.to_path_buf()).collect());
        for p in &guard.0 {
            let out = Command::new("chattr").arg("+i").arg(p).output().expect("run chattr");
            assert!(
                out.status.success(),
                "chattr +i {}: {}",
                p.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        guard
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = Command::new("chattr").arg("-i").arg(p).status();
        }
    }
}
