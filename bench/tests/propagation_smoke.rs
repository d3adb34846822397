//! The propagation benchmark still runs: `keel-bench propagation` with a small table and one
//! round prints both changes' figures, and every replica routed by each change within the
//! bound the platform promises (1 s; `tests/tests/router_replicas.rs`).

use std::process::Command;

#[test]
fn propagation_run_reaches_every_replica_and_prints_its_figures() {
    let out = Command::new(env!("CARGO_BIN_EXE_keel-bench"))
        .args(["propagation", "--plugins", "100", "--rounds", "1"])
        .output()
        .expect("run keel-bench");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "keel-bench propagation failed: {}\n{stderr}", out.status);
    assert!(stdout.contains("100 plugins in the table"), "{stdout}");
    for change in ["plugin added: ", "plugin removed: "] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(change))
            .unwrap_or_else(|| panic!("{change:?} in {stdout}"));
        let every = line.split("every replica median ").nth(1).unwrap_or_else(|| panic!("{line}"));
        let ms: f64 =
            every.split(" ms").next().and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{line}"));
        assert!(ms < 1000.0, "{line}");
    }
}
