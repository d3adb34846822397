//! Helpers shared by the `openapi_*` end-to-end tests: schemathesis installed once into a venv
//! under `target/` (as `sidecar/tests/python_sdk.rs` does for the Dapr SDK), run against a
//! management API's `/openapi.json` with a token, under a deadline.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The schemathesis release pinned.
pub const SCHEMATHESIS_VERSION: &str = "4.32.5";

/// The `st` command of `target/schemathesis-venv`, installing it first when it is missing or at
/// another version.
pub fn schemathesis() -> PathBuf {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().expect("target folder");
    keel_e2e::python::pip_tool(target, "schemathesis-venv", "schemathesis", SCHEMATHESIS_VERSION).join("st")
}

/// What one schemathesis run printed, and whether it passed.
pub struct Run {
    pub passed: bool,
    pub output: String,
}

/// Runs `st run <base>/openapi.json --url <base>` with `Authorization: Bearer <token>` and
/// `args`, killed after `limit` (a hang is a failure too). Blocking: call it from
/// `spawn_blocking`.
pub fn run(base: &str, token: &str, args: &[&str], limit: Duration) -> Run {
    run_schema(&format!("{base}/openapi.json"), base, token, args, limit)
}

/// [`run`] with the document at `schema` (an API whose document is not at `<base>/openapi.json`).
pub fn run_schema(schema: &str, base: &str, token: &str, args: &[&str], limit: Duration) -> Run {
    let st = schemathesis();
    let report = tempfile_dir();
    let mut child = Command::new(st)
        .args(["--no-color", "run"])
        .arg(schema)
        .args(["--url", base])
        .args(["-H", &format!("Authorization: Bearer {token}")])
        // No answer may take long, and a request that hangs fails the run.
        .args(["--request-timeout", "10", "--max-response-time", "5"])
        // One retry on a network-level failure only (a connection closed under a request, seen
        // once in five runs through keel); a crashed or hung service still fails the run.
        .args(["--request-retries", "1"])
        .args(["--workers", "1", "--seed", "18"])
        .args(["--report-dir"])
        .arg(&report)
        .args(args)
        .env("NO_COLOR", "1")
        .current_dir(&report)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start schemathesis");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for schemathesis") {
            break Some(status);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let out = child.wait_with_output().expect("schemathesis output");
    let output = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let _ = std::fs::remove_dir_all(&report);
    // How much was tried, in the test's output.
    for line in output.lines().filter(|l| {
        l.trim_start().chars().next().is_some_and(|c| c.is_ascii_digit()) && l.contains(" generated")
    }) {
        eprintln!("schemathesis {base}: {}", line.trim());
    }
    match status {
        Some(s) => Run { passed: s.success(), output },
        None => {
            Run { passed: false, output: format!("schemathesis still running after {limit:?}\n{output}") }
        }
    }
}

fn tempfile_dir() -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("keel-schemathesis-{}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&dir).expect("report dir");
    dir
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
}
