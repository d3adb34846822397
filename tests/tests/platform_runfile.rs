//! The repository's own `dapr.yaml`, run as README.md says (`scripts/local-secrets`, then
//! `target/debug/sidecar run -f dapr.yaml`): every app comes up behind its sidecar on the ports
//! the run file names, each sidecar requires the API token the run gave its app, the apps answer
//! the plugin protocol through their sidecars, the access-control policies of config/ hold (a
//! plugin cannot call another directly, keel can), each service's state and secrets are its own,
//! and Ctrl-C/SIGTERM stops everything.
//!
//! It uses the run file's fixed ports (3100-3113, 3500-3513): a platform already running on this
//! machine makes it fail, with the sidecar's message naming the port.

use std::fs;
use std::os::unix::fs::symlink;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use keel_e2e::{bin_path, build::workspace_root, client, wait_healthy, RunTokens};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use serde_json::Value;

/// The apps of dapr.yaml and their sidecar ports.
const APPS: [(&str, u16); 8] = [
    ("keel", 3500),
    ("plugins", 3501),
    ("auth", 3502),
    ("hosting", 3503),
    ("echo", 3510),
    ("greeter", 3511),
    ("py-quotes", 3513),
    ("notes-ui", 3514),
];

/// Kills the run's whole process tree when the test ends, also when it fails half-way: a run left
/// behind would hold the run file's fixed ports for every later test.
struct KillOnDrop(u32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let mut pids = keel_e2e::platform::descendants(self.0);
        pids.push(self.0 as i32);
        for pid in pids {
            let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
            let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}

#[actix_rt::test]
async fn the_run_file_starts_every_app_behind_its_sidecar_and_stops_them_all() {
    // A copy of the repository's run file and components in a scratch directory (so the state
    // file lands there), with the built binaries and the examples reachable at the same paths.
    let root = workspace_root();
    bin_path("sidecar"); // builds the workspace
    let dir = tempfile::tempdir().unwrap();
    fs::copy(root.join("dapr.yaml"), dir.path().join("dapr.yaml")).unwrap();
    for folder in ["components", "config"] {
        fs::create_dir(dir.path().join(folder)).unwrap();
        for entry in fs::read_dir(root.join(folder)).unwrap().flatten() {
            if entry.path().is_file() {
                fs::copy(entry.path(), dir.path().join(folder).join(entry.file_name())).unwrap();
            }
        }
    }
    symlink(keel_e2e::build::target_dir(), dir.path().join("target")).unwrap();
    symlink(root.join("examples"), dir.path().join("examples")).unwrap();
    let secrets = Command::new(root.join("scripts/local-secrets")).current_dir(dir.path()).output().unwrap();
    assert!(secrets.status.success(), "scripts/local-secrets: {secrets:?}");
    let tokens = RunTokens::new(dir.path().join("tokens"));

    let log = dir.path().join("run.log");
    let out = fs::File::create(&log).unwrap();
    let mut run = Command::new("target/debug/sidecar")
        .args(["run", "-f", "dapr.yaml"])
        .current_dir(dir.path())
        .env("SIDECAR_REGISTRY", dir.path().join("registry.db"))
        .env("SIDECAR_TOKENS_DIR", tokens.dir())
        .env_remove("DAPR_API_TOKEN")
        .env_remove("APP_API_TOKEN")
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .process_group(0)
        .spawn()
        .expect("start the run");
    let pgid = Pid::from_raw(run.id() as i32);
    let _cleanup = KillOnDrop(run.id());
    let output = || fs::read_to_string(&log).unwrap_or_default();

    // The Python example installs its pinned dependencies on first start: allow for it.
    for (id, port) in APPS {
        let url = format!("http://127.0.0.1:{port}/v1.0/healthz");
        wait_healthy(&url, Duration::from_secs(300), || format!("{id} not up; run output:\n{}", output()))
            .await;
    }

    // Each app answers /v1/identify through its own sidecar, under its own id, with the token the
    // run gave it; without it its sidecar refuses.
    let http = client();
    let sidecar = |id: &str, port: u16, method: &str, path: &str| {
        let method = awc::http::Method::from_bytes(method.as_bytes()).unwrap();
        http.request(method, format!("http://127.0.0.1:{port}/v1.0/{path}"))
            .insert_header(("dapr-api-token", tokens.dapr(id)))
    };
    for (id, port) in APPS {
        let mut res = sidecar(id, port, "GET", &format!("invoke/{id}/method/v1/identify"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("identify {id}: {e}"));
        assert_eq!(res.status().as_u16(), 200, "identify {id}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["plugin_id"], id);
        assert_eq!(body["ret"], 0);
        let bare = http.get(format!("http://127.0.0.1:{port}/v1.0/metadata")).send().await.unwrap();
        assert_eq!(bare.status().as_u16(), 401, "{id}'s sidecar without its token");
    }

    // Access control: greeter cannot call echo directly; keel can; the registry reaches auth.
    let mut res = sidecar("greeter", 3511, "GET", "invoke/echo/method/v1/identify").send().await.unwrap();
    assert_eq!(res.status().as_u16(), 403);
    let body = String::from_utf8(res.body().await.unwrap().to_vec()).unwrap();
    assert_eq!(
        body,
        r#"{"errorCode":"ERR_DIRECT_INVOKE","message":"failed to invoke, id: echo, err: rpc error: code = PermissionDenied desc = access control policy has denied access to id: spiffe://public/ns/default/greeter operation: v1/identify verb: GET"}"#
    );
    for (from, port, to) in [("keel", 3500, "echo"), ("plugins", 3501, "auth"), ("keel", 3500, "auth")] {
        let res =
            sidecar(from, port, "GET", &format!("invoke/{to}/method/v1/identify")).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 200, "{from} -> {to}");
    }
    let res = sidecar("echo", 3510, "GET", "invoke/auth/method/v1/identify").send().await.unwrap();
    assert_eq!(res.status().as_u16(), 403, "a plugin -> auth");

    // State and secrets: auth's are auth's alone.
    let res = sidecar("auth", 3502, "GET", "secrets/auth-secrets/sealing-key").send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    // keel has other stores (400 ERR_STATE_STORE_NOT_FOUND), a plugin none (500 ..._NOT_CONFIGURED).
    for (id, port, status) in [("keel", 3500, 400), ("echo", 3510, 500)] {
        let res = sidecar(id, port, "GET", "state/auth-state/auth%2Fkeys").send().await.unwrap();
        assert_eq!(res.status().as_u16(), status, "{id} reads auth-state");
        let res = sidecar(id, port, "GET", "secrets/auth-secrets/sealing-key").send().await.unwrap();
        assert_ne!(res.status().as_u16(), 200, "{id} reads auth's sealing key");
    }

    // Output is prefixed with the app it came from.
    let text = output();
    for (id, _) in APPS {
        assert!(text.contains(&format!("== APP - {id} ==")), "no output prefixed with {id}:\n{text}");
    }
    // The generated tokens are handed to the apps, never printed: no line of the run shows one.
    for (id, _) in APPS {
        assert!(!text.contains(&tokens.dapr(id)), "{id}'s DAPR_API_TOKEN is in the run's output");
        let app =
            tokens.get(id, "APP_API_TOKEN").unwrap_or_else(|| panic!("the run gave {id} no APP_API_TOKEN"));
        assert!(!text.contains(&app), "{id}'s APP_API_TOKEN is in the run's output");
    }

    // SIGTERM (what Ctrl-C sends to the foreground group) stops every app and sidecar.
    killpg(pgid, Signal::SIGTERM).unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(s) = run.try_wait().unwrap() {
            break s;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "run did not stop within 30 s:\n{}", output());
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "run exited with {status}:\n{}", output());
    // Nothing of the group is left: no process, no open port.
    assert!(killpg(pgid, None).is_err(), "processes of the run are still alive");
    for (id, port) in APPS {
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
            "{id}'s sidecar port {port} still open"
        );
    }
}
