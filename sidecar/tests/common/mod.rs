//! The test kit: the built `sidecar` binary as a child process, an in-process echo app, and a
//! raw HTTP/1.1 client (so tests control every byte of the request line and headers).
//!
//! Synchronisation is always on something observable — the readiness line, `/v1.0/healthz`,
//! a port that accepts — polled against a deadline; never a fixed sleep.

// Each test file uses a different part of the kit.
#![allow(dead_code)]

pub mod app;
pub mod http;
pub mod run;

use std::time::{Duration, Instant};

/// How long anything may take to become true before a test fails.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// Polls `f` every 20 ms until it returns `Some`, or panics with `what` after [`PATIENCE`].
pub fn eventually<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(v) = f() {
            return v;
        }
        if Instant::now() > deadline {
            panic!("timed out after {PATIENCE:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A component YAML for a state store.
pub fn state_component(name: &str, type_name: &str, metadata: &[(&str, &str)]) -> String {
    let mut meta = String::new();
    for (k, v) in metadata {
        meta.push_str(&format!("  - name: {k}\n    value: \"{v}\"\n"));
    }
    let meta = if meta.is_empty() { "  metadata: []\n".to_owned() } else { format!("  metadata:\n{meta}") };
    format!("apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\nspec:\n  type: {type_name}\n  version: v1\n{meta}")
}

/// A run of several apps (each an in-process echo app), all ready.
pub struct Fleet {
    /// The folder (registry, HOME, run file, components).
    pub ws: run::Workspace,
    /// The `sidecar run` process.
    pub run: run::Run,
    /// The apps, in order.
    pub apps: Vec<app::EchoApp>,
    /// Their readiness, in order.
    pub ready: Vec<run::Ready>,
}

impl Fleet {
    /// The HTTP port of app `i`'s sidecar.
    pub fn port(&self, i: usize) -> u16 {
        self.ready[i].http_port
    }
}

/// Starts one run with an echo app per `(app_id, extra run-file keys)`, sharing `common` keys
/// and a `resources` folder holding `components` (file name, YAML).
pub fn fleet(common: &str, apps: &[(&str, &str)], components: &[(&str, &str)]) -> Fleet {
    let ws = run::Workspace::new();
    for (name, yaml) in components {
        ws.write(&format!("resources/{name}"), yaml);
    }
    std::fs::create_dir_all(ws.path("resources")).unwrap();
    let mut echo = Vec::new();
    let mut entries = Vec::new();
    for (id, extra) in apps {
        std::fs::create_dir_all(ws.path(id)).unwrap();
        let app = app::start();
        entries.push(format!("appID: {id}\nappDirPath: ./{id}\nappPort: {}\n{extra}", app.port));
        echo.push(app);
    }
    let common = format!("resourcesPath: ./resources\n{common}");
    let file = ws.write("dapr.yaml", &run::run_file(&common, &entries));
    let mut run = ws.run_file(&file).start();
    let ready = apps.iter().map(|(id, _)| run.ready(id)).collect();
    Fleet { ws, run, apps: echo, ready }
}
