//! The instruction count still runs: `keel-bench instructions --smoke --floors` (50 requests
//! counted per router under callgrind) writes a report in which keel, nginx in keel's seat and
//! the two stacks' floors (`keel-bench-seat`) each executed a plausible number of instructions
//! per request, counts every router's system calls per request (`strace -c`), and names keel's
//! costliest functions.

use std::process::Command;

const ROUTERS: [&str; 4] =
    ["keel external", "nginx in keel's seat", "actix-web and awc, forwarding only", "hyper, forwarding only"];

#[test]
fn the_instruction_count_counts_keel_nginx_and_the_floors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("benchmarks-cpu.md");
    let run = Command::new(env!("CARGO_BIN_EXE_keel-bench"))
        .args(["instructions", "--smoke", "--floors", "--out"])
        .arg(&out)
        .output()
        .expect("run keel-bench");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "keel-bench instructions --smoke failed: {}\n{stderr}", run.status);
    let report = std::fs::read_to_string(&out).expect("the report was written");
    for router in ROUTERS {
        let row = report
            .lines()
            .find(|l| l.starts_with(&format!("| {router} |")))
            .unwrap_or_else(|| panic!("no row for {router}:\n{report}"));
        let cells: Vec<&str> = row.split('|').map(str::trim).filter(|c| !c.is_empty()).collect();
        assert_eq!(cells[1], "50", "{router} counted 50 requests:\n{report}");
        let per_request: f64 = cells[3].parse().unwrap_or_else(|_| panic!("{router}: {row}"));
        // Forwarding an HTTP request costs thousands of instructions, not zero and not millions.
        assert!(
            (1_000.0..5_000_000.0).contains(&per_request),
            "{router}: {per_request} per request:\n{report}"
        );
    }
    assert!(report.contains("keel executes "), "{report}");
    let (_, kernel) =
        report.split_once("## The kernel's part").unwrap_or_else(|| panic!("no kernel part:\n{report}"));
    for router in ROUTERS {
        let row = kernel
            .lines()
            .find(|l| l.starts_with(&format!("| {router} |")))
            .unwrap_or_else(|| panic!("no kernel row for {router}:\n{report}"));
        let cells: Vec<f64> = row.split('|').skip(2).filter_map(|c| c.trim().parse().ok()).collect();
        assert_eq!(cells.len(), 7, "{router}: {row}");
        // A forwarded request takes a few reads and writes each way, not none and not hundreds.
        assert!(
            (2.0..100.0).contains(&cells[0]),
            "{router}: {} system calls per request:\n{report}",
            cells[0]
        );
        assert!(cells[1] >= 1.0 && cells[2] >= 1.0, "{router} reads and writes:\n{report}");
    }
    let listed = report.lines().filter(|l| l.contains('(') && l.contains("%)")).count();
    assert!(listed >= 10, "keel's costliest functions are listed:\n{report}");
}
