//! The registry benchmark still runs: `keel-bench registry --smoke` (20 plugins, 5 s of polling,
//! plain and with secrets) writes a report stating every figure the full run is judged on.

use std::process::Command;

#[test]
fn registry_smoke_run_writes_its_figures() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("benchmarks-registry.md");
    let status = Command::new(env!("CARGO_BIN_EXE_keel-bench"))
        .args(["registry", "--smoke", "--out"])
        .arg(&out)
        .status()
        .expect("run keel-bench");
    assert!(status.success(), "keel-bench registry --smoke failed: {status}");
    let report = std::fs::read_to_string(&out).expect("the report was written");
    for (expected, times) in [
        ("| register 20 plugins in < 60 s |", 2),
        ("(20 of 20 registered, 20 ACTIVE)", 2),
        ("% of one core (20 of 20 plugins polled in the window)", 2),
        ("| polling: registry < 50 MB resident |", 2),
        ("Failed: 0.", 2),
        ("## Plain registrations", 1),
        ("## With a client secret each", 1),
        ("-p bench -- registry --smoke", 1),
    ] {
        assert_eq!(report.matches(expected).count(), times, "{expected:?} in:\n{report}");
    }
}
