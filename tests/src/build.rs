//! Locates the workspace's binaries, building them once per test process: the binaries under
//! test live in other packages, so `CARGO_BIN_EXE_*` cannot name them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ lives in the workspace").to_path_buf()
}

/// Where cargo puts the binaries: `CARGO_TARGET_DIR` when set, else the workspace's `target/`.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace_root().join("target"))
}

/// The profile the binaries are built with: the one this code was built with, so the benchmark
/// (built with `--release`) measures release binaries and the tests use debug ones.
const PROFILE: &str = if cfg!(debug_assertions) { "debug" } else { "release" };

/// The path of workspace binary `name`, after `cargo build --workspace --bins` has run once in
/// this process (a no-op when everything is fresh).
pub fn bin_path(name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args(["build", "--workspace", "--bins", "--quiet"]);
        if PROFILE == "release" {
            cmd.arg("--release");
        }
        let status = cmd.current_dir(workspace_root()).status().expect("run cargo build");
        assert!(status.success(), "cargo build --workspace --bins failed");
    });
    let path = target_dir().join(PROFILE).join(name);
    assert!(path.exists(), "binary {} not found after building the workspace", path.display());
    path
}
