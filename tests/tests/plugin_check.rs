//! `keelctl plugin check` against real plugins: every example passes it, through a sidecar as the
//! registry reaches them, with neither errors nor warnings; a deliberately broken plugin
//! (`broken-plugin`, one fault per process) shows each finding with its fix and the exit code CI
//! relies on (8 for errors; warnings only with `--strict`).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use keel_e2e::build::workspace_root;
use keel_e2e::{bin_path, free_port, wait_healthy, AppSpec, Platform};
use serde_json::Value;

/// What `keelctl plugin check` printed and returned.
struct Checked {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Checked {
    fn report(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    fn text(&self) -> String {
        format!("exit {}\n{}{}", self.code, self.stdout, self.stderr)
    }

    /// The finding named `check`, if reported.
    fn finding(&self, check: &str) -> Option<Value> {
        self.report()["findings"].as_array()?.iter().find(|f| f["check"] == check).cloned()
    }
}

/// Runs `keelctl plugin check <args>` with `env`, and nothing of the test's own Dapr settings.
async fn check(args: &[&str], env: &[(&str, String)]) -> Checked {
    let mut cmd = tokio::process::Command::new(bin_path("keelctl"));
    cmd.args(["plugin", "check"]).args(args);
    for key in ["DAPR_HTTP_PORT", "DAPR_HTTP_ENDPOINT", "DAPR_API_TOKEN", "APP_API_TOKEN"] {
        cmd.env_remove(key);
    }
    cmd.envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    let out = cmd.output().await.expect("run keelctl");
    Checked {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A `broken-plugin` process with `faults`, killed on drop.
struct Broken {
    child: Child,
    url: String,
}

impl Broken {
    async fn start(faults: &[&str]) -> Self {
        let port = free_port();
        let mut cmd = Command::new(bin_path("broken-plugin"));
        for fault in faults {
            cmd.args(["--fault", fault]);
        }
        let child =
            cmd.env("APP_PORT", port.to_string()).stdout(Stdio::null()).spawn().expect("spawn broken-plugin");
        let url = format!("http://127.0.0.1:{port}");
        wait_healthy(&format!("{url}/healthz"), Duration::from_secs(30), || {
            format!("broken-plugin {faults:?}")
        })
        .await;
        Self { child, url }
    }
}

impl Drop for Broken {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One fault, the finding it must produce, and that finding's severity.
const CASES: &[(&str, &str, &str)] = &[
    ("id-mismatch", "identify.id-mismatch", "error"),
    ("bad-id", "identify.invalid", "error"),
    ("reserved-id", "identify.reserved-id", "error"),
    ("bad-version", "identify.invalid", "error"),
    ("partial-version", "identify.version-not-semver", "warning"),
    ("no-keel-version", "identify.no-keel-version", "warning"),
    ("future-keel", "identify.keel-too-new", "error"),
    ("aliases", "identify.alias", "warning"),
    ("misspelt", "identify.unknown-field", "warning"),
    ("no-envelope", "identify.no-envelope", "warning"),
    ("identify-ret", "identify.refused", "error"),
    ("identify-500", "identify.http-status", "error"),
    ("identify-text", "identify.not-json", "error"),
    ("identify-shape", "identify.shape", "error"),
    ("identify-content-type", "identify.content-type", "warning"),
    ("identify-slow", "identify.slow", "warning"),
    ("identify-hang", "identify.timeout", "error"),
    ("addons-missing", "addons.not-served", "error"),
    ("addons-refuse", "addons.refused", "warning"),
    ("addons-garbage-ok", "addons.accepts-malformed", "warning"),
    ("addons-500", "addons.http-status", "error"),
    ("addons-refuse-silently", "addons.refused-silently", "warning"),
    ("addons-bare-ok", "addons.no-envelope", "warning"),
    ("addons-hang", "addons.timeout", "error"),
    ("status-bad", "status.value", "error"),
    ("status-starting", "status.not-active", "warning"),
    ("status-slow", "status.slow", "warning"),
    ("status-500", "status.http-status", "error"),
    ("status-ret", "status.refused", "error"),
    ("status-hang", "status.timeout", "error"),
    ("bare-404", "errors.no-envelope", "warning"),
    ("unknown-ret-zero", "errors.ret-zero", "warning"),
    ("unknown-hang", "errors.unknown-path", "error"),
    ("large-hang", "errors.large-body", "error"),
    ("large-crash", "errors.crashed", "error"),
];

/// Checks `broken-plugin --fault <fault>` by URL and returns what went wrong, if anything.
async fn case(fault: &str, expected: &str, severity: &str) -> Result<(), String> {
    let plugin = Broken::start(&[fault]).await;
    let out = check(&[&plugin.url, "--app-id", "broken", "-o", "json"], &[]).await;
    let Some(finding) = out.finding(expected) else {
        return Err(format!("{fault}: no {expected}:\n{}", out.text()));
    };
    if finding["severity"] != severity || finding["fix"].as_str().is_none_or(str::is_empty) {
        return Err(format!("{fault}: {expected} is not a {severity} with a fix: {finding}"));
    }
    let (code, strict) = match severity {
        "error" => (8, 8),
        _ => (0, 8),
    };
    if out.code != code {
        return Err(format!("{fault}: exit {} instead of {code}:\n{}", out.code, out.text()));
    }
    if severity == "warning" {
        let errors = out.report()["errors"].as_u64();
        if errors != Some(0) {
            return Err(format!("{fault}: a warning case found errors:\n{}", out.text()));
        }
        let strict_out = check(&[&plugin.url, "--app-id", "broken", "--strict", "-o", "json"], &[]).await;
        if strict_out.code != strict {
            return Err(format!("{fault}: --strict exit {} instead of {strict}", strict_out.code));
        }
    }
    Ok(())
}

#[actix_rt::test]
async fn a_broken_plugin_shows_each_finding_with_its_fix_and_fails_ci_on_errors() {
    // The control: without faults it conforms, and the people's report says so.
    let plugin = Broken::start(&[]).await;
    let out = check(&[&plugin.url, "--app-id", "broken"], &[]).await;
    assert_eq!(out.code, 0, "{}", out.text());
    assert!(
        out.stdout.contains("ok       identify: broken 1.0.0, needs keel 1.0; offers p"),
        "{}",
        out.text()
    );
    assert!(
        out.stdout.contains("ok       addons: accepted the synthetic implementer keelctl-check"),
        "{}",
        out.text()
    );
    assert!(out.stdout.contains("0 errors, 0 warnings: registration would accept it"), "{}", out.text());

    // The people's report of a finding: its severity, name, message and fix.
    let out = check(&[&plugin.url, "--app-id", "echo"], &[]).await;
    assert_eq!(out.code, 8, "{}", out.text());
    assert!(
        out.stdout.contains("error    identify.id-mismatch: the plugin reports plugin_id \"broken\" but runs as app-id \"echo\""),
        "{}",
        out.text()
    );
    assert!(out.stdout.contains("fix: report \"plugin_id\": \"echo\""), "{}", out.text());
    assert!(out.stdout.contains("seen     identify: broken 1.0.0"), "{}", out.text());
    assert!(out.stdout.contains("ok       status: ACTIVE"), "{}", out.text());
    assert!(out.stderr.contains("does not pass the check (1 error, 0 warnings"), "{}", out.text());
    drop(plugin);

    // Every fault, each in its own process, all at once (some wait out a time limit).
    let results = futures_util::future::join_all(CASES.iter().map(|(f, c, s)| case(f, c, s))).await;
    let failures: Vec<String> = results.into_iter().filter_map(Result::err).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[actix_rt::test]
async fn a_target_that_is_neither_an_app_id_nor_a_url_is_a_usage_error() {
    for target in ["Not_An_Id", "ftp://127.0.0.1:1"] {
        let out = check(&[target], &[]).await;
        assert_eq!(out.code, 2, "{}", out.text());
        assert!(out.stderr.contains("app URL as http://host:port"), "{}", out.text());
    }
}

#[actix_rt::test]
async fn every_example_passes_the_check_through_a_sidecar() {
    let mut p = Platform::new();
    p.start(AppSpec::bin("echo", "echo")).await;
    p.start(AppSpec::bin("greeter", "greeter")).await;
    p.start(AppSpec::bin("greeter-emoji", "greeter-emoji")).await;
    let run_sh = workspace_root().join("examples/py-quotes/run.sh");
    p.start(AppSpec::command("py-quotes", vec![run_sh.display().to_string()])).await;
    p.start(AppSpec::command(
        "broken",
        vec![bin_path("broken-plugin").display().to_string(), "--fault".into(), "id-mismatch".into()],
    ))
    .await;
    // The checker's own sidecar: the plugins are reached by service invocation, as the registry
    // reaches them.
    p.start(AppSpec::sidecar_only("checker")).await;
    let sidecar = [("DAPR_HTTP_PORT", p.app("checker").dapr_port.to_string())];

    for id in ["echo", "greeter", "greeter-emoji", "py-quotes"] {
        let out = check(&[id, "--strict", "-o", "json"], &sidecar).await;
        assert_eq!(out.code, 0, "{id}: {}", out.text());
        let report = out.report();
        assert_eq!(report["findings"], serde_json::json!([]), "{id}: {}", out.text());
        assert!(report["via"].as_str().unwrap().contains("service invocation"), "{}", out.text());
        let areas: Vec<&str> =
            report["checked"].as_array().unwrap().iter().filter_map(|c| c["area"].as_str()).collect();
        let expected: &[&str] = if id == "greeter" {
            &["identify", "addons", "status", "errors"]
        } else {
            &["identify", "status", "errors"]
        };
        assert_eq!(areas, expected, "{id}: {}", out.text());
    }

    // Through the sidecar the id is checked against the app-id it was invoked under.
    let out = check(&["broken", "-o", "json"], &sidecar).await;
    assert_eq!(out.code, 8, "{}", out.text());
    assert!(out.finding("identify.id-mismatch").is_some(), "{}", out.text());

    // A plugin behind the platform's access policy (config/plugin.yaml) accepts keel and the
    // registry only: the checker's sidecar is denied, and told how to get through; through the
    // plugin's own sidecar (a plugin calling itself) or keel's it passes.
    // Every sidecar of the platform runs with mTLS (the Configurations enable it), so the callers'
    // sidecars here do too.
    let config = |name: &str| workspace_root().join("config").join(name).display().to_string();
    let policy = config("plugin.yaml");
    p.start(AppSpec::bin("guarded", "fake-plugin").sidecar_args(&["--config", &policy])).await;
    p.start(AppSpec::sidecar_only("outsider").sidecar_args(&["--config", &policy])).await;
    let outsider = [("DAPR_HTTP_PORT", p.app("outsider").dapr_port.to_string())];
    let out = check(&["guarded"], &outsider).await;
    assert_eq!(out.code, 8, "{}", out.text());
    assert!(out.stdout.contains("the plugin's sidecar denied the call (HTTP 403"), "{}", out.text());
    assert!(out.stdout.contains("check through the plugin's own sidecar"), "{}", out.text());
    p.start(AppSpec::sidecar_only("keel").sidecar_args(&["--config", &config("keel.yaml")])).await;
    for through in ["guarded", "keel"] {
        let port = [("DAPR_HTTP_PORT", p.app(through).dapr_port.to_string())];
        let out = check(&["guarded", "-o", "json"], &port).await;
        assert_eq!(out.code, 0, "through {through}'s sidecar: {}", out.text());
        assert_eq!(out.report()["errors"], 0, "{}", out.text());
    }

    // An app-id no sidecar knows: the sidecar's refusal, with what to start.
    // Nothing else is tried: it would fail the same way.
    let out = check(&["nobody", "-o", "json"], &sidecar).await;
    assert_eq!(out.code, 8, "{}", out.text());
    let finding = out.finding("identify.unreachable").unwrap_or_else(|| panic!("{}", out.text()));
    assert!(
        finding["message"].as_str().unwrap().contains("the sidecar could not invoke the app"),
        "{finding}"
    );
    assert!(finding["fix"].as_str().unwrap().contains("start the plugin behind a sidecar"), "{finding}");
    assert_eq!(out.report()["findings"].as_array().unwrap().len(), 1, "{}", out.text());
}
