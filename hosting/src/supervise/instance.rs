//! One run of one service: start it (the script, then its PID file and its port, within the
//! start timeout) and stop it (the script's `stop`, then the PID verified gone, SIGTERM, and
//! SIGKILL after a grace, to the PID and to its whole process group).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;
use tokio::sync::watch;

use super::procfs;
use super::reap::{self, Ended};
use super::spawn::{self, Script};

/// Everything needed to run one release of a service.
#[derive(Debug, Clone)]
pub struct Spec {
    /// `service.app_id`.
    pub app_id: String,
    /// The release's version.
    pub version: String,
    /// `args`.
    pub args: String,
    /// The script, where it runs, where its output goes.
    pub script: Script,
    /// The PID file's name in `workspace/`.
    pub pid_file: String,
    /// Where what runs is noted for the boot sweep (`data_dir/run/<app_id>@<version>.json`).
    pub ledger: PathBuf,
}

/// The timings of starts and stops.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// PID file and port within this.
    pub start_timeout: Duration,
    /// `stop` may run this long.
    pub stop_script_timeout: Duration,
    /// Between the steps of a stop.
    pub stop_grace: Duration,
}

/// A started service.
#[derive(Debug, Clone)]
pub struct Started {
    /// The service's PID, from the PID file.
    pub pid: i32,
    /// Its process group: the start script's PID.
    pub pgid: i32,
    /// Its start time (clock ticks since boot).
    pub start_ticks: u64,
    /// The start script's start time (clock ticks since boot).
    pub group_ticks: u64,
    /// Its port.
    pub port: u16,
    /// Resolves with how it ended (`None` inside: ended, but not known how).
    pub exited: watch::Receiver<Option<Option<Ended>>>,
}

/// A start that did not work out: what happened, and how the process ended if it did.
#[derive(Debug, Clone)]
pub struct StartFailure {
    /// In words.
    pub reason: String,
    /// The exit, when a process ended.
    pub ended: Option<Ended>,
}

/// A watch that resolves when `pid` ends.
pub fn exit_watch(pid: i32) -> watch::Receiver<Option<Option<Ended>>> {
    let (tx, rx) = watch::channel(None);
    actix_rt::spawn(async move {
        let how = reap::wait(pid).await;
        let _ = tx.send(Some(how));
    });
    rx
}

fn pid_path(spec: &Spec) -> PathBuf {
    spec.script.workspace.join(&spec.pid_file)
}

fn read_pid(spec: &Spec) -> Option<i32> {
    let text = std::fs::read_to_string(pid_path(spec)).ok()?;
    text.trim().parse().ok().filter(|p: &i32| *p > 1)
}

/// Whether something accepts connections on the loopback port.
pub async fn accepts(port: u16) -> bool {
    let connect = tokio::net::TcpStream::connect(("127.0.0.1", port));
    matches!(tokio::time::timeout(Duration::from_millis(500), connect).await, Ok(Ok(_)))
}

/// Starts `spec` on `port`: runs the script and waits for the PID file (a live PID) and the
/// port, within the start timeout. `spawned` is called with the script's process group and its
/// start time as soon as it runs, before anything is awaited (so that whoever drops this future
/// half-way, or a later hosting, knows what to stop). A failure leaves no process behind.
pub async fn start(
    spec: &Spec,
    port: u16,
    timing: Timing,
    spawned: impl FnOnce(i32, u64),
) -> Result<Started, StartFailure> {
    let _ = std::fs::remove_file(pid_path(spec));
    let script = spawn::run(&spec.script, "start", port, &spec.args).map_err(|e| StartFailure {
        reason: format!("cannot run {} start: {e}", spec.script.start_file),
        ended: None,
    })?;
    // Not collected yet (the reaper runs on this thread, and nothing was awaited): even a
    // script that is done already still has its /proc entry.
    let group_ticks = procfs::start_ticks(script).unwrap_or_default();
    spawned(script, group_ticks);
    let script_exit = exit_watch(script);
    let deadline = Instant::now() + timing.start_timeout;
    let mut svc: Option<(i32, watch::Receiver<Option<Option<Ended>>>)> = None;
    let failure = loop {
        if svc.is_none() {
            if let Some(pid) = read_pid(spec).filter(|p| procfs::alive(*p)) {
                let watch = if pid == script { script_exit.clone() } else { exit_watch(pid) };
                svc = Some((pid, watch));
            } else if let Some(Some(Ended::Code(c))) = *script_exit.borrow() {
                if c != 0 && read_pid(spec).is_none() {
                    break StartFailure {
                        reason: format!(
                            "{} start exited with status {c} before writing {}",
                            spec.script.start_file, spec.pid_file
                        ),
                        ended: Some(Ended::Code(c)),
                    };
                }
            }
        }
        if let Some((pid, watch)) = &svc {
            if let Some(how) = *watch.borrow() {
                break StartFailure {
                    reason: format!(
                        "the service (pid {pid}) {} before accepting connections on port {port}",
                        how.map(Ended::describe).unwrap_or_else(|| "ended".into())
                    ),
                    ended: how,
                };
            }
            if accepts(port).await {
                let start_ticks = procfs::start_ticks(*pid).unwrap_or_default();
                return Ok(Started {
                    pid: *pid,
                    pgid: script,
                    start_ticks,
                    group_ticks,
                    port,
                    exited: watch.clone(),
                });
            }
        }
        if Instant::now() >= deadline {
            let what = if svc.is_some() {
                format!("did not accept connections on port {port}")
            } else {
                format!("did not write {} with a live PID", spec.pid_file)
            };
            break StartFailure {
                reason: format!("the service {what} within {:?}", timing.start_timeout),
                ended: None,
            };
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // Nothing of a failed start stays: the script's group, and the PID it wrote.
    let pid = svc.as_ref().map(|(p, _)| *p);
    kill_all(script, pid, Signal::SIGKILL);
    if let Some((_, mut w)) = svc {
        let _ = tokio::time::timeout(Duration::from_secs(2), w.wait_for(Option::is_some)).await;
    }
    Err(failure)
}

/// Ends what a start left when it was abandoned, or what a previous hosting left running: every
/// process of `groups` and each of `pids` gets SIGTERM, then up to `grace` to go, then SIGKILL.
/// Returns once none of them runs (or a few seconds after the SIGKILL).
pub async fn terminate(groups: &[i32], pids: &[i32], grace: Duration) {
    let groups: Vec<i32> = groups.iter().copied().filter(|g| *g > 1).collect();
    let pids: Vec<i32> = pids.iter().copied().filter(|p| *p > 1).collect();
    let running = || {
        groups.iter().any(|g| !procfs::group_members(*g).is_empty()) || pids.iter().any(|p| procfs::alive(*p))
    };
    for sig in [Signal::SIGTERM, Signal::SIGKILL] {
        if !running() {
            return;
        }
        for g in &groups {
            let _ = killpg(Pid::from_raw(*g), sig);
        }
        for p in &pids {
            let _ = kill(Pid::from_raw(*p), sig);
        }
        let wait = if sig == Signal::SIGTERM { grace } else { Duration::from_secs(5) };
        let deadline = Instant::now() + wait;
        while running() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn kill_all(pgid: i32, pid: Option<i32>, sig: Signal) {
    if pgid > 1 {
        let _ = killpg(Pid::from_raw(pgid), sig);
    }
    if let Some(pid) = pid.filter(|p| *p > 1) {
        let _ = kill(Pid::from_raw(pid), sig);
    }
}

/// Stops a started service: `<start_file> stop`, the PID verified gone, SIGTERM, SIGKILL after
/// the grace; then anything left in its process group. Returns how it ended, when known.
pub async fn stop(spec: &Spec, started: &Started, timing: Timing) -> Option<Ended> {
    let mut exited = started.exited.clone();
    let gone = |w: &watch::Receiver<Option<Option<Ended>>>| w.borrow().is_some();
    if !gone(&exited) {
        match spawn::run(&spec.script, "stop", started.port, &spec.args) {
            Ok(script) => {
                let mut done = exit_watch(script);
                if tokio::time::timeout(timing.stop_script_timeout, done.wait_for(Option::is_some))
                    .await
                    .is_err()
                {
                    tracing::warn!(app_id = %spec.app_id, "The stop script did not finish in time; killing it");
                    kill_all(script, None, Signal::SIGKILL);
                }
            }
            Err(e) => tracing::warn!(app_id = %spec.app_id, error = %e, "Cannot run the stop script"),
        }
        let _ = tokio::time::timeout(timing.stop_grace, exited.wait_for(Option::is_some)).await;
    }
    if !gone(&exited) {
        tracing::info!(app_id = %spec.app_id, pid = started.pid, "Still running after stop; sending SIGTERM");
        kill_all(started.pgid, Some(started.pid), Signal::SIGTERM);
        let _ = tokio::time::timeout(timing.stop_grace, exited.wait_for(Option::is_some)).await;
    }
    if !gone(&exited) {
        tracing::warn!(app_id = %spec.app_id, pid = started.pid, "Still running after SIGTERM; sending SIGKILL");
        kill_all(started.pgid, Some(started.pid), Signal::SIGKILL);
        let _ = tokio::time::timeout(Duration::from_secs(5), exited.wait_for(Option::is_some)).await;
    }
    // Whatever the service left in its group (workers it forked) goes with it.
    if !procfs::group_members(started.pgid).is_empty() {
        kill_all(started.pgid, None, Signal::SIGKILL);
    }
    let how = *exited.borrow();
    how.flatten()
}
