//! A platform under test: a temporary directory holding the state store file, the components and
//! the sidecars' shared name registry, and one `sidecar run` process per app (so each app can be
//! stopped, killed or restarted on its own, as in production).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

use crate::{bin_path, free_port, wait_healthy};

/// How long an app and its sidecar get to become healthy.
pub const START_LIMIT: Duration = Duration::from_secs(60);

/// One app to run behind a sidecar.
#[derive(Debug, Clone)]
pub struct AppSpec {
    /// Its Dapr app-id.
    pub id: String,
    /// What the platform calls it (`p.app(name)`): its app-id, or a replica's own name when
    /// several instances share one app-id ([`AppSpec::replica`]).
    pub name: String,
    /// The command and arguments (empty: a sidecar without an app).
    pub command: Vec<String>,
    /// Extra environment for the app (and its sidecar).
    pub env: Vec<(String, String)>,
    /// Whether the app listens on `APP_PORT` (the sidecar waits for it).
    pub has_port: bool,
    /// Extra `sidecar run` flags, e.g. `--max-body-size 1Gi`.
    pub sidecar_args: Vec<String>,
}

impl AppSpec {
    /// App `id` running workspace binary `bin`.
    pub fn bin(id: &str, bin: &str) -> Self {
        let spec = Self::command(id, vec![bin_path(bin).display().to_string()]);
        if bin == "plugins-manager" {
            // The registry's push listener defaults to the fixed port 8001 (the guide's
            // REGISTRY_URL); tests running side by side get a free one. Read it back with
            // `env_value("KEEL_PUSH__LISTEN")`.
            return spec.env("KEEL_PUSH__LISTEN", format!("127.0.0.1:{}", free_port()));
        }
        spec
    }

    /// The router, app-id `keel`, with its admin and public ports on free loopback ports (their
    /// defaults are fixed ports, which tests running side by side would fight over). Read them
    /// back with [`AppSpec::env_value`] (`KEEL_ADMIN_LISTEN`, `KEEL_PUBLIC_LISTEN`).
    pub fn keel() -> Self {
        Self::bin("keel", "keel")
            .env("KEEL_ADMIN_LISTEN", format!("127.0.0.1:{}", free_port()))
            .env("KEEL_PUBLIC_LISTEN", format!("127.0.0.1:{}", free_port()))
    }

    /// The last value given for environment variable `key`.
    pub fn env_value(&self, key: &str) -> Option<&str> {
        self.env.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// App `id` running an arbitrary command.
    pub fn command(id: &str, command: Vec<String>) -> Self {
        Self {
            id: id.to_owned(),
            name: id.to_owned(),
            command,
            env: Vec::new(),
            has_port: true,
            sidecar_args: Vec::new(),
        }
    }

    /// Another instance of the same app-id, known to the platform as `name` (a replica: the
    /// sidecars spread calls to the app-id over every instance, as daprd's resolvers do).
    pub fn replica(mut self, name: &str) -> Self {
        self.name = name.to_owned();
        self
    }

    /// Adds an environment variable.
    pub fn env(mut self, key: &str, value: impl Into<String>) -> Self {
        self.env.push((key.to_owned(), value.into()));
        self
    }

    /// Adds `sidecar run` flags.
    pub fn sidecar_args(mut self, args: &[&str]) -> Self {
        self.sidecar_args.extend(args.iter().map(|a| a.to_string()));
        self
    }

    /// A sidecar with no app behind it (a client's sidecar).
    pub fn sidecar_only(id: &str) -> Self {
        Self { has_port: false, ..Self::command(id, Vec::new()) }
    }
}

/// A running app and its sidecar.
#[derive(Debug)]
pub struct RunningApp {
    /// What was started.
    pub spec: AppSpec,
    /// The sidecar's HTTP port (`DAPR_HTTP_PORT`).
    pub dapr_port: u16,
    /// The app's port (`APP_PORT`).
    pub app_port: u16,
    /// Where its output (app and sidecar) goes.
    pub log: PathBuf,
    child: Child,
    /// Processes of the app left running when its sidecar was killed alone.
    orphans: Vec<i32>,
}

impl RunningApp {
    /// The pid of the `sidecar run` process (the process group leader).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the run: SIGTERM (graceful: the sidecar stops its app itself) or SIGKILL. Either
    /// way every process it started is gone afterwards: the app runs in a process group of its
    /// own, so it would outlive a killed sidecar if it were not killed explicitly.
    fn terminate(&mut self, graceful: bool) {
        let mut descendants = descendants(self.child.id());
        descendants.append(&mut self.orphans);
        let leader = Pid::from_raw(self.child.id() as i32);
        if graceful {
            let _ = killpg(leader, Signal::SIGTERM);
            let deadline = std::time::Instant::now() + Duration::from_secs(20);
            while std::time::Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = killpg(leader, Signal::SIGKILL);
        for pid in descendants {
            let pid = Pid::from_raw(pid);
            let _ = killpg(pid, Signal::SIGKILL);
            let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

/// The platform under test. Dropping it kills every process it started.
pub struct Platform {
    dir: tempfile::TempDir,
    apps: BTreeMap<String, RunningApp>,
}

impl Default for Platform {
    fn default() -> Self {
        Self::new()
    }
}

impl Platform {
    /// A fresh platform: empty sqlite state store (component `statestore`, keyPrefix `name`).
    pub fn new() -> Self {
        Self::new_in(&std::env::temp_dir())
    }

    /// A fresh platform whose files live in a new folder under `parent` (the registry benchmark
    /// keeps them on tmpfs: 1,000 sidecars' name-registry heartbeats stall on a busy disk).
    pub fn new_in(parent: &Path) -> Self {
        let dir = tempfile::tempdir_in(parent).expect("tempdir");
        let p = Self { dir, apps: BTreeMap::new() };
        fs::create_dir_all(p.components_dir()).expect("components dir");
        let db = p.dir.path().join("state.db");
        p.write_component(
            "statestore.yaml",
            &format!(
                "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: statestore\nspec:\n  type: state.sqlite\n  version: v1\n  metadata:\n  - name: connectionString\n    value: \"{}\"\n  - name: disableWAL\n    value: \"true\"\n  - name: keyPrefix\n    value: name\n",
                db.display()
            ),
        );
        p.write_auth_components();
        p
    }

    /// auth's private store (`auth-state`, scoped to auth, as components/auth-state.yaml) and its
    /// secret store (`auth-secrets`, a `secretstores.local.file` over `secrets/auth.json` holding a
    /// random `sealing-key`, as components/secretstore.yaml and scripts/local-secrets make it).
    fn write_auth_components(&self) {
        let db = self.dir.path().join("auth-state.db");
        self.write_component(
            "auth-state.yaml",
            &format!(
                "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: auth-state\nspec:\n  type: state.sqlite\n  version: v1\n  metadata:\n  - name: connectionString\n    value: \"{}\"\n  - name: disableWAL\n    value: \"true\"\nscopes:\n- auth\n",
                db.display()
            ),
        );
        let secrets = self.dir.path().join("secrets");
        fs::create_dir_all(&secrets).expect("secrets dir");
        let key: [u8; 32] = rand::random();
        self.write_auth_secret(&format!("{{\"sealing-key\":\"{}\"}}\n", crate::base64(&key)));
        self.write_component(
            "auth-secrets.yaml",
            &format!(
                "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: auth-secrets\nspec:\n  type: secretstores.local.file\n  version: v1\n  metadata:\n  - name: secretsFile\n    value: \"{}\"\nscopes:\n- auth\n",
                secrets.join("auth.json").display()
            ),
        );
    }

    /// Replaces auth's secrets file (`secrets/auth.json`) with `json`, read by sidecars started
    /// from now on.
    pub fn write_auth_secret(&self, json: &str) {
        fs::write(self.dir.path().join("secrets").join("auth.json"), json).expect("write secrets");
    }

    /// The temporary directory everything lives in.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The resources folder every sidecar loads.
    pub fn components_dir(&self) -> PathBuf {
        self.dir.path().join("components")
    }

    /// Adds or replaces a component file.
    pub fn write_component(&self, name: &str, yaml: &str) {
        fs::write(self.components_dir().join(name), yaml).expect("write component");
    }

    /// The sidecars' shared name registry file.
    pub fn registry(&self) -> PathBuf {
        self.dir.path().join("registry.db")
    }

    /// Starts `spec` behind its own sidecar and waits until the sidecar reports healthy (which
    /// it does once the app's port accepts connections).
    pub async fn start(&mut self, spec: AppSpec) -> &RunningApp {
        let id = spec.name.clone();
        assert!(!self.apps.contains_key(&id), "app {id} already running");
        let (dapr_port, app_port) = (free_port(), free_port());
        let app = self.spawn(spec, dapr_port, app_port);
        self.apps.insert(id.clone(), app);
        self.wait_ready(&id).await;
        &self.apps[&id]
    }

    fn spawn(&self, spec: AppSpec, dapr_port: u16, app_port: u16) -> RunningApp {
        let log = self.dir.path().join(format!("{}.log", spec.name));
        let out = File::options().create(true).append(true).open(&log).expect("log file");
        let mut cmd = Command::new(bin_path("sidecar"));
        cmd.arg("run")
            .args(["--app-id", &spec.id])
            .args(["--dapr-http-port", &dapr_port.to_string()])
            .args(["--resources-path", &self.components_dir().display().to_string()])
            .args(&spec.sidecar_args);
        if spec.has_port {
            cmd.args(["--app-port", &app_port.to_string()]);
        }
        if !spec.command.is_empty() {
            cmd.arg("--").args(&spec.command);
        }
        cmd.env("SIDECAR_REGISTRY", self.registry())
            .env("KEEL_LOG", std::env::var("KEEL_LOG").unwrap_or_else(|_| "info".into()))
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("dup log"))
            .stderr(out)
            .process_group(0);
        let child = cmd.spawn().expect("spawn sidecar run");
        RunningApp { spec, dapr_port, app_port, log, child, orphans: Vec::new() }
    }

    async fn wait_ready(&mut self, id: &str) {
        let app = &self.apps[id];
        let log = app.log.clone();
        let url = format!("http://127.0.0.1:{}/v1.0/healthz", app.dapr_port);
        wait_healthy(&url, START_LIMIT, || format!("--- output of {id} ---\n{}", read_log(&log))).await;
    }

    /// The app started as `id`.
    pub fn app(&self, id: &str) -> &RunningApp {
        self.apps.get(id).unwrap_or_else(|| panic!("app {id} is not running"))
    }

    /// `http://127.0.0.1:<dapr port>` of app `id`'s sidecar.
    pub fn dapr_url(&self, id: &str) -> String {
        format!("http://127.0.0.1:{}", self.app(id).dapr_port)
    }

    /// `http://127.0.0.1:<app port>` of app `id`.
    pub fn app_url(&self, id: &str) -> String {
        format!("http://127.0.0.1:{}", self.app(id).app_port)
    }

    /// A sidecar client bound to app `id`'s sidecar.
    pub fn dapr(&self, id: &str) -> keel_sdk::dapr::DaprClient {
        keel_sdk::dapr::DaprClient::new(keel_sdk::dapr::SidecarConfig {
            endpoint: self.dapr_url(id),
            ..keel_sdk::dapr::SidecarConfig::default()
        })
    }

    /// Everything app `id` and its sidecar printed so far.
    pub fn logs(&self, id: &str) -> String {
        read_log(&self.app(id).log)
    }

    /// Everything every app printed so far.
    pub fn all_logs(&self) -> String {
        let mut out = String::new();
        for entry in fs::read_dir(self.dir.path()).into_iter().flatten().flatten() {
            if entry.path().extension().is_some_and(|e| e == "log") {
                out.push_str(&read_log(&entry.path()));
            }
        }
        out
    }

    /// Stops app `id` and its sidecar gracefully (SIGTERM) and waits for them to exit.
    pub fn stop(&mut self, id: &str) -> RunningApp {
        let mut app = self.apps.remove(id).unwrap_or_else(|| panic!("app {id} is not running"));
        app.terminate(true);
        app
    }

    /// Kills app `id` and its sidecar at once (SIGKILL), as a crash would.
    pub fn kill(&mut self, id: &str) -> RunningApp {
        let mut app = self.apps.remove(id).unwrap_or_else(|| panic!("app {id} is not running"));
        app.terminate(false);
        app
    }

    /// Kills only the app behind `id`'s sidecar (the sidecar keeps running), as an app crash
    /// would: the app is the `sidecar run` process's child.
    pub fn kill_app_only(&mut self, id: &str) {
        let pid = self.app(id).pid();
        let children = child_pids(pid);
        assert!(!children.is_empty(), "app {id} (under sidecar pid {pid}) has no running process");
        for child in children {
            // The app leads its own process group: take its children (a launcher script's
            // interpreter, say) with it.
            let _ = killpg(Pid::from_raw(child), Signal::SIGKILL);
            let _ = nix::sys::signal::kill(Pid::from_raw(child), Signal::SIGKILL);
        }
    }

    /// Kills only `id`'s sidecar (SIGKILL), leaving its app running, as a sidecar crash would;
    /// the app is killed with the rest when the platform is dropped.
    pub fn kill_sidecar_only(&mut self, id: &str) {
        let app = self.apps.get_mut(id).unwrap_or_else(|| panic!("app {id} is not running"));
        let pid = app.child.id();
        app.orphans = descendants(pid);
        assert!(!app.orphans.is_empty(), "app {id} (under sidecar pid {pid}) has no running process");
        let _ = nix::sys::signal::kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
        let _ = app.child.wait();
    }

    /// Restarts app `id` (after `stop` or `kill`) with the same spec and ports.
    pub async fn restart(&mut self, previous: RunningApp) -> &RunningApp {
        let id = previous.spec.name.clone();
        let app = self.spawn(previous.spec, previous.dapr_port, previous.app_port);
        self.apps.insert(id.clone(), app);
        self.wait_ready(&id).await;
        &self.apps[&id]
    }
}

impl Drop for Platform {
    fn drop(&mut self) {
        for app in self.apps.values_mut() {
            app.terminate(false);
        }
    }
}

fn read_log(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_default()
}

/// Every descendant of `pid` (children first), from procfs.
pub fn descendants(pid: u32) -> Vec<i32> {
    let mut out = Vec::new();
    let mut stack = vec![pid as i32];
    while let Some(p) = stack.pop() {
        for child in child_pids(p as u32) {
            out.push(child);
            stack.push(child);
        }
    }
    out
}

/// The direct children of `pid`, from procfs.
fn child_pids(pid: u32) -> Vec<i32> {
    let mut out = Vec::new();
    for task in fs::read_dir(format!("/proc/{pid}/task")).into_iter().flatten().flatten() {
        let children = fs::read_to_string(task.path().join("children")).unwrap_or_default();
        out.extend(children.split_whitespace().filter_map(|c| c.parse::<i32>().ok()));
    }
    out
}
