//! The benchmark's smoke mode runs in the test suite, so the benchmark never rots: every path is
//! set up and measured for a second at a tiny rate, and the report names every target.

use std::process::Command;

#[test]
fn the_benchmark_runs_every_path_and_reports_every_target() {
    let out = Command::new(env!("CARGO_BIN_EXE_keel-bench")).arg("--smoke").output().expect("run keel-bench");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "keel-bench --smoke failed:\n{stderr}");
    let report_path = stderr
        .lines()
        .find_map(|l| l.strip_prefix("report written to "))
        .unwrap_or_else(|| panic!("no report path in:\n{stderr}"));
    let report = std::fs::read_to_string(report_path.trim()).unwrap();
    for path in [
        "| direct |",
        "| one sidecar hop |",
        "| two sidecars |",
        "| keel internal |",
        "| keel at its app port |",
        "| keel external |",
    ] {
        assert!(report.contains(path), "{path} not measured:\n{report}");
    }
    for target in [
        "one sidecar hop adds",
        "keel's own hop adds ≤ 0.3 ms at p50",
        "keel's own hop adds ≤ 1 ms at p99",
        "the whole detour through keel",
        "token verification adds",
        "password grant",
        "80% of nginx",
    ] {
        assert!(report.contains(target), "target {target:?} missing:\n{report}");
    }
    // The router's targets are judged on interleaved rounds of each comparison.
    for round in [
        "| keel's own hop | 1 | 200 req/s | two sidecars |",
        "| throughput against nginx in keel's seat | 1 |",
    ] {
        assert!(report.contains(round), "{round} not measured:\n{report}");
    }
    assert!(report.contains("Produced by `cargo run --release -p bench -- --smoke`"), "{report}");
}
