//! The `sidecar` binary as a child process: started with a run file or single-app flags in a
//! temporary folder (its own HOME and name registry), its stdout parsed for readiness lines,
//! and stopped with SIGTERM (SIGKILL as a last resort) when dropped.

use super::{eventually, PATIENCE};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A readiness line, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ready {
    /// The sidecar's HTTP port.
    pub http_port: u16,
    /// The app's port (0 for none).
    pub app_port: u16,
}

/// A running `sidecar run`.
pub struct Run {
    child: Child,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<String>>,
    /// The threads reading stdout and stderr: done once the process (and anything holding its
    /// pipes) is gone.
    readers: Vec<std::thread::JoinHandle<()>>,
    status: Option<ExitStatus>,
    tokens_dir: PathBuf,
}

/// How to start one.
pub struct RunBuilder {
    args: Vec<String>,
    env: Vec<(String, String)>,
    dir: PathBuf,
    tokens_dir: PathBuf,
}

/// A folder for one test: HOME, the registry, run files, components.
pub struct Workspace {
    /// The temporary folder.
    pub dir: tempfile::TempDir,
}

impl Workspace {
    /// A fresh folder.
    pub fn new() -> Self {
        Workspace { dir: tempfile::tempdir().unwrap() }
    }

    /// A path inside it.
    pub fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    /// Writes a file (creating folders).
    pub fn write(&self, p: &str, text: &str) -> PathBuf {
        let path = self.path(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    /// The shared registry file of this workspace.
    pub fn registry(&self) -> PathBuf {
        self.path("registry.db")
    }

    /// `sidecar run -f <file>` with this workspace's registry and HOME.
    pub fn run_file(&self, file: &Path) -> RunBuilder {
        RunBuilder::new(self).args(&["run", "-f", file.to_str().unwrap()])
    }

    /// `sidecar run <flags>` (single-app mode) with this workspace's registry and HOME.
    pub fn single(&self, flags: &[&str]) -> RunBuilder {
        RunBuilder::new(self).args(&["run"]).args(flags)
    }
}

impl Default for Workspace {
    fn default() -> Self {
        Self::new()
    }
}

impl RunBuilder {
    fn new(ws: &Workspace) -> Self {
        std::fs::create_dir_all(ws.path("home")).unwrap();
        RunBuilder {
            args: Vec::new(),
            env: vec![
                ("HOME".into(), ws.path("home").display().to_string()),
                ("SIDECAR_REGISTRY".into(), ws.registry().display().to_string()),
                ("RUST_LOG".into(), "sidecar=debug,warn".into()),
                ("SIDECAR_TOKENS_DIR".into(), ws.path("tokens").display().to_string()),
            ],
            dir: ws.dir.path().to_owned(),
            tokens_dir: ws.path("tokens"),
        }
    }

    /// Adds arguments.
    pub fn args(mut self, a: &[&str]) -> Self {
        self.args.extend(a.iter().map(|s| s.to_string()));
        self
    }

    /// Sets an environment variable for the run.
    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.into(), v.into()));
        self
    }

    /// Starts it.
    pub fn start(self) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sidecar"));
        cmd.args(&self.args)
            .current_dir(&self.dir)
            .env_remove("DAPR_API_TOKEN")
            .env_remove("APP_API_TOKEN")
            .env_remove("NAMESPACE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start the sidecar binary");
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let out = child.stdout.take().unwrap();
        let lines = stdout.clone();
        let out_reader = std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                lines.lock().unwrap().push(line);
            }
        });
        let mut err = child.stderr.take().unwrap();
        let text = stderr.clone();
        let err_reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                text.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Run {
            child,
            stdout,
            stderr,
            readers: vec![out_reader, err_reader],
            status: None,
            tokens_dir: self.tokens_dir,
        }
    }
}

impl Run {
    /// The pid of the `sidecar` process.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything printed on stdout so far.
    pub fn stdout(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }

    /// Everything printed on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits for `app_id`'s readiness line.
    pub fn ready(&mut self, app_id: &str) -> Ready {
        let prefix = format!("sidecar ready app_id={app_id} ");
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(line) = self.stdout().into_iter().find(|l| l.starts_with(&prefix)) {
                let fields: HashMap<&str, &str> =
                    line.split_whitespace().filter_map(|f| f.split_once('=')).collect();
                return Ready {
                    http_port: fields["dapr_http_port"].parse().unwrap(),
                    app_port: fields["app_port"].parse().unwrap(),
                };
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                self.status = Some(status);
                panic!(
                    "sidecar exited ({status}) before {app_id} was ready\nstdout: {:?}\nstderr:\n{}",
                    self.stdout(),
                    self.stderr()
                );
            }
            if Instant::now() > deadline {
                panic!(
                    "{app_id} not ready after {PATIENCE:?}\nstdout: {:?}\nstderr:\n{}",
                    self.stdout(),
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `app_id`'s API tokens for this run (`--tokens-dir`): `(DAPR_API_TOKEN, APP_API_TOKEN)`.
    pub fn tokens(&self, app_id: &str) -> (Option<String>, Option<String>) {
        let text = std::fs::read_to_string(self.tokens_dir.join(format!("{app_id}.env"))).unwrap_or_default();
        let get = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix('=')))
                .map(str::to_owned)
        };
        (get("DAPR_API_TOKEN"), get("APP_API_TOKEN"))
    }

    /// `app_id`'s `DAPR_API_TOKEN` for this run (panics without one).
    pub fn dapr_token(&self, app_id: &str) -> String {
        self.tokens(app_id).0.unwrap_or_else(|| panic!("{app_id} has no DAPR_API_TOKEN in this run"))
    }

    /// Waits until stdout has a line containing `needle`.
    pub fn wait_stdout(&self, needle: &str) -> String {
        eventually(&format!("stdout line containing {needle:?}"), || {
            self.stdout().into_iter().find(|l| l.contains(needle))
        })
    }

    /// Waits until stderr contains `needle`.
    pub fn wait_stderr(&self, needle: &str) {
        eventually(&format!("stderr containing {needle:?}"), || self.stderr().contains(needle).then_some(()));
    }

    /// Waits for the process to exit on its own.
    pub fn wait_exit(&mut self) -> ExitStatus {
        if let Some(s) = self.status {
            return s;
        }
        let child = &mut self.child;
        let status = eventually("the sidecar process to exit", || child.try_wait().ok().flatten());
        // The exit can be seen before the readers drained the pipes: what the process printed
        // last (a refusal's message, say) must be readable once this returns.
        eventually("the sidecar's output to be read to its end", || {
            self.readers.iter().all(|r| r.is_finished()).then_some(())
        });
        self.status = Some(status);
        status
    }

    /// Sends a signal to the sidecar process.
    pub fn signal(&self, sig: Signal) {
        let _ = kill(Pid::from_raw(self.child.id() as i32), sig);
    }

    /// SIGTERM, then waits for the exit.
    pub fn terminate(&mut self) -> ExitStatus {
        if self.status.is_none() {
            self.signal(Signal::SIGTERM);
        }
        self.wait_exit()
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if self.status.is_some() || matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        // A clean stop, so apps the run started do not outlive the test.
        self.signal(Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// True while a process exists and is not a zombie waiting to be reaped (`kill(pid, 0)` also
/// succeeds for zombies, which a container's init may leave around for a while).
pub fn alive(pid: i32) -> bool {
    u32::try_from(pid).is_ok_and(keel_e2e::alive)
}

/// A process's peak resident memory (`VmHWM` in `/proc/<pid>/status`), in bytes.
pub fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/<pid>/status");
    kb * 1024
}

/// A run file with the given apps' YAML (each a list item body, indented by the caller).
pub fn run_file(common: &str, apps: &[String]) -> String {
    let mut out = String::from("version: 1\n");
    if !common.is_empty() {
        out.push_str("common:\n");
        for line in common.lines() {
            out.push_str(&format!("  {line}\n"));
        }
    }
    out.push_str("apps:\n");
    for app in apps {
        for (i, line) in app.lines().enumerate() {
            out.push_str(if i == 0 { "  - " } else { "    " });
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}
