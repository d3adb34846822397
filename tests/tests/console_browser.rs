//! The web console in a real browser (issue 16): Debian's chromium driven by playwright-core
//! (`tests/console/console.mjs`), against the real auth, keel, registry, `echo` and `notes-ui`.
//! A person logs in (a wrong password first: a sentence), sees the plugins and their status,
//! opens notes-ui's tab inside the console and sees the user name its back end got from the
//! ticket, finds the type-1 entry in the top bar and the type-3 tab on the operations page, a
//! platform admin unregisters a plugin; a plugin stopped shows as unreachable within
//! one poll; after logout the old session reaches no extension; a plain user sees no admin page.
//! Every page is checked with axe-core (no serious or critical violation); screenshots go to
//! `target/console-screenshots/`.
//!
//! Needs chromium (`/usr/bin/chromium`, or `KEEL_CHROMIUM`) and Node.js; `scripts/test-deps`
//! installs both the browser and the pinned npm packages. Missing tools fail the test (it never
//! passes without having run the browser); the npm packages are installed here when missing.

mod console_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use console_support::*;
use keel_e2e::build::{target_dir, workspace_root};
use keel_e2e::Platform;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// The console's polling period (`console/assets/console.js`, `POLL_MS`).
const POLL_MS: u64 = 3000;

/// The whole browser run may take this long.
const LIMIT: Duration = Duration::from_secs(240);

fn chromium() -> PathBuf {
    let path =
        std::env::var_os("KEEL_CHROMIUM").map(PathBuf::from).unwrap_or_else(|| "/usr/bin/chromium".into());
    assert!(
        path.is_file(),
        "chromium not found at {}: run scripts/test-deps (Debian package chromium), or set KEEL_CHROMIUM",
        path.display()
    );
    path
}

/// `target/tools/console-e2e` with the npm packages of `tests/console/package-lock.json`,
/// installed with `npm ci` when missing or from another lock file.
fn e2e_modules() -> PathBuf {
    let dir = target_dir().join("tools/console-e2e");
    let src = workspace_root().join("tests/console");
    let lock = std::fs::read(src.join("package-lock.json")).expect("tests/console/package-lock.json");
    let current = std::fs::read(dir.join("package-lock.json")).ok();
    if current.as_deref() != Some(lock.as_slice()) || !dir.join("node_modules/playwright-core").is_dir() {
        std::fs::create_dir_all(&dir).expect("create target/tools/console-e2e");
        for f in ["package.json", "package-lock.json"] {
            std::fs::copy(src.join(f), dir.join(f)).expect("copy the npm manifest");
        }
        let status = Command::new("npm")
            .args(["ci", "--silent", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .status()
            .unwrap_or_else(|e| panic!("npm not found ({e}): install Node.js, then run scripts/test-deps"));
        assert!(status.success(), "npm ci in {} failed", dir.display());
    }
    for m in ["playwright-core", "axe-core"] {
        assert!(dir.join("node_modules").join(m).is_dir(), "{m} missing in {}", dir.display());
    }
    dir
}

fn node() -> PathBuf {
    let ok = Command::new("node").arg("--version").stdout(Stdio::null()).status().is_ok_and(|s| s.success());
    assert!(ok, "node not found: install Node.js (scripts/test-deps needs it too)");
    PathBuf::from("node")
}

async fn run_browser(p: &mut Platform, modules: &Path, shots: &Path) {
    let (user, pw, tenant) = PLAIN;
    let mut child = tokio::process::Command::new(node())
        .arg(workspace_root().join("tests/console/console.mjs"))
        .env("E2E_MODULES", modules)
        .env("CHROMIUM", chromium())
        .env("BASE", public_base(p))
        .env("SHOTS", shots)
        .env("ADMIN_PW", ADMIN_PW)
        .env("PLAIN_USER", user)
        .env("PLAIN_PW", pw)
        .env("PLAIN_TENANT", tenant)
        .env("POLL_MS", POLL_MS.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start node");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut stderr = child.stderr.take().expect("stderr");
    let stderr_text = tokio::spawn(async move {
        let mut s = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut stderr, &mut s).await.ok();
        s
    });
    let mut said = Vec::new();
    while let Some(line) = stdout.next_line().await.expect("read node's output") {
        println!("browser: {line}");
        if line == "NEED stop echo" {
            drop(p.stop("echo"));
            wait_status(p, "echo", "UNREACHABLE", Duration::from_secs(30)).await;
            stdin.write_all(b"ok\n").await.expect("answer the browser script");
        }
        said.push(line);
    }
    let status = child.wait().await.expect("node exit");
    let err = stderr_text.await.unwrap_or_default();
    assert!(
        status.success(),
        "the browser run failed ({status}); screenshots in {}:\n{}\n{err}\n--- platform logs ---\n{}",
        shots.display(),
        said.join("\n"),
        p.all_logs()
    );
    assert_eq!(said.iter().rfind(|l| l.starts_with("STEP ")).map(String::as_str), Some("STEP done"));
}

#[actix_rt::test]
async fn the_console_in_a_browser() {
    // Tools first: a missing browser fails before anything starts.
    let _ = chromium();
    let modules = e2e_modules();
    let shots = target_dir().join("console-screenshots");
    let _ = std::fs::remove_dir_all(&shots);

    let mut p = Platform::new();
    console_platform(&mut p, &[]).await;
    tokio::time::timeout(LIMIT, run_browser(&mut p, &modules, &shots))
        .await
        .unwrap_or_else(|_| panic!("the browser run took longer than {LIMIT:?}"));
}
