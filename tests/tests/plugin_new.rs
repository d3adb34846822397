//! `keelctl plugin new`: the plugins it writes work as written. Each is generated, its own test
//! run, started behind a sidecar with its run line's command, checked clean (`--strict`) by
//! `keelctl plugin check` through a sidecar, as the registry reaches it, and registered with the
//! registry, which records it ACTIVE.
//!
//! Build time is bounded: the Rust plugin is generated under the workspace's target directory,
//! pinned to the workspace's `Cargo.lock` and built into the same target directory
//! (`CARGO_TARGET_DIR`), so it reuses the workspace's compiled dependencies; the Python plugin's
//! virtualenv is kept under `target/` between runs.

mod registry_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use keel_e2e::build::{target_dir, workspace_root};
use keel_e2e::{bin_path, AppSpec, Platform};
use serde_json::Value;

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\n{}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A fresh folder for generated plugin `name`, under the workspace's target directory.
fn fresh_dir(name: &str) -> PathBuf {
    let dir = target_dir().join("plugin-new-test").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// `keelctl plugin new <id> --lang <lang> --dir <dir>`, which must succeed.
fn generate(id: &str, lang: &str, dir: &Path) {
    let out = Command::new(bin_path("keelctl"))
        .args(["plugin", "new", id, "--lang", lang, "--dir"])
        .arg(dir)
        .output()
        .expect("run keelctl");
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&format!("wrote a {lang} plugin {id}")), "{}", text(&out));
    assert!(
        stdout.contains(&format!("keelctl plugin check http://127.0.0.1:3120 --app-id {id}")),
        "{}",
        text(&out)
    );
    for file in ["README.md", "dapr.yaml", ".gitignore"] {
        assert!(dir.join(file).is_file(), "{file} missing from {}", dir.display());
    }
    let run_line = std::fs::read_to_string(dir.join("dapr.yaml")).unwrap();
    assert!(run_line.contains(&format!("appID: {id}")) && run_line.contains("appPort: 3120"), "{run_line}");
}

/// Starts `app` (app-id `id`) behind a sidecar, and a client sidecar, then checks `id` through the
/// client's sidecar (no findings at all), then registers it with a registry.
async fn started_checked_and_registered(id: &str, app: AppSpec) {
    let mut p = Platform::new();
    p.start(app).await;
    p.start(AppSpec::sidecar_only("checker")).await;
    let out = Command::new(bin_path("keelctl"))
        .args(["plugin", "check", id, "--strict", "-o", "json"])
        .env("DAPR_HTTP_PORT", p.app("checker").dapr_port.to_string())
        .env_remove("DAPR_HTTP_ENDPOINT")
        .env_remove("DAPR_API_TOKEN")
        .output()
        .expect("run keelctl");
    assert_eq!(out.status.code(), Some(0), "{}\n{}", text(&out), p.logs(id));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["findings"], serde_json::json!([]), "{}", text(&out));
    assert_eq!(report["checked"][0]["summary"].as_str().unwrap().split(' ').next(), Some(id), "{report}");

    registry_support::start_registry(&mut p, &[]).await;
    let (status, record) = registry_support::register(&p, registry_support::REGISTRY, id, None).await;
    assert_eq!(status, 201, "{record}\n{}", p.logs(registry_support::REGISTRY));
    assert_eq!(record["version"], "0.1.0", "{record}");
    registry_support::wait_status(&p, id, "ACTIVE", Duration::from_secs(30)).await;
}

#[actix_rt::test]
async fn a_new_rust_plugin_builds_passes_its_test_and_the_check_and_registers() {
    let id = "hello-kit";
    let dir = fresh_dir(id);
    generate(id, "rust", &dir);
    // The workspace's versions of every dependency: nothing new to compile but the plugin.
    std::fs::copy(workspace_root().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    let cargo = |args: &[&str]| {
        let out = Command::new(env!("CARGO"))
            .args(args)
            .arg("--offline")
            .env("CARGO_TARGET_DIR", target_dir())
            .current_dir(&dir)
            .output()
            .expect("run cargo");
        assert!(out.status.success(), "cargo {args:?} in {}:\n{}", dir.display(), text(&out));
        out
    };
    let tested = cargo(&["test"]);
    assert!(
        String::from_utf8_lossy(&tested.stdout).contains("identify_status_and_hello_answer ... ok"),
        "{}",
        text(&tested)
    );
    cargo(&["build"]);
    let bin = target_dir().join("debug").join(id);
    started_checked_and_registered(id, AppSpec::command(id, vec![bin.display().to_string()])).await;
}

#[actix_rt::test]
async fn a_new_python_plugin_passes_its_test_and_the_check_and_registers() {
    let id = "hello-py";
    let dir = fresh_dir(id);
    generate(id, "python", &dir);
    // Its own virtualenv, kept between runs (installed from PyPI once, about 30 s).
    let venv = target_dir().join("plugin-new-venv");
    let out = Command::new(dir.join("run.sh"))
        .arg("test")
        .env("KEEL_PLUGIN_VENV", &venv)
        .output()
        .expect("run run.sh test");
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Ran 5 tests"), "{}", text(&out));
    let app = AppSpec::command(id, vec![dir.join("run.sh").display().to_string()])
        .env("KEEL_PLUGIN_VENV", venv.display().to_string());
    started_checked_and_registered(id, app).await;
}
