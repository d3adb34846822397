//! The one place that waits for child processes. hosting makes itself a *child subreaper*
//! (`PR_SET_CHILD_SUBREAPER`): a service the start script backgrounds (`nohup ./svc &`) is
//! re-parented to hosting when the script exits, so hosting learns its real exit code instead of
//! guessing from a PID that vanished. Every exit is collected here with `waitpid(-1)`, on
//! SIGCHLD and on a short tick, and handed to whoever waits for that PID.
//!
//! So nothing else in this process may wait for children (`std::process::Command::output`,
//! `Child::wait`, `tokio::process`): their statuses would be taken from under them. Everything
//! hosting runs is spawned by [`super::spawn`] and waited for here.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use tokio::sync::watch;

/// How a process ended, as `waitpid` said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// `exit(code)`.
    Code(i32),
    /// Killed by a signal.
    Signal(i32),
}

impl Ended {
    /// In words.
    pub fn describe(self) -> String {
        match self {
            Self::Code(c) => format!("exited with status {c}"),
            Self::Signal(s) => {
                let name = nix::sys::signal::Signal::try_from(s).map(|s| s.as_str()).unwrap_or("?");
                format!("was killed by signal {s} ({name})")
            }
        }
    }
}

/// Exits nobody has asked for yet are kept this long (a waiter may register just after).
const UNCLAIMED_FOR: Duration = Duration::from_secs(120);

struct Reaper {
    ended: Mutex<HashMap<i32, (Ended, Instant)>>,
    tick: watch::Sender<u64>,
}

fn reaper() -> &'static Reaper {
    static REAPER: OnceLock<Reaper> = OnceLock::new();
    REAPER.get_or_init(|| Reaper { ended: Mutex::new(HashMap::new()), tick: watch::channel(0).0 })
}

/// Becomes the subreaper of everything hosting starts and collects exits until the process
/// ends. Call once, on the runtime that runs the supervisors.
pub fn start() {
    static STARTED: OnceLock<()> = OnceLock::new();
    if STARTED.set(()).is_err() {
        return;
    }
    if let Err(e) = nix::sys::prctl::set_child_subreaper(true) {
        tracing::warn!(error = %e, "Cannot become the child subreaper; a backgrounded service's exit code will be unknown");
    }
    actix_rt::spawn(async {
        let mut sigchld = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::child()).ok();
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        loop {
            match sigchld.as_mut() {
                Some(s) => {
                    tokio::select! {
                        _ = s.recv() => {}
                        _ = tick.tick() => {}
                    }
                }
                None => {
                    tick.tick().await;
                }
            }
            collect();
        }
    });
}

/// Takes every exit there is now.
fn collect() {
    let r = reaper();
    let mut any = false;
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(pid, code)) => {
                note(pid.as_raw(), Ended::Code(code));
                any = true;
            }
            Ok(WaitStatus::Signaled(pid, sig, _)) => {
                note(pid.as_raw(), Ended::Signal(sig as i32));
                any = true;
            }
            Ok(WaitStatus::StillAlive) | Err(_) => break,
            Ok(_) => {}
        }
    }
    if any {
        let mut ended = r.ended.lock().unwrap_or_else(|e| e.into_inner());
        ended.retain(|_, (_, at)| at.elapsed() < UNCLAIMED_FOR);
        drop(ended);
        r.tick.send_modify(|n| *n += 1);
    }
}

fn note(pid: i32, how: Ended) {
    tracing::debug!(pid, how = %how.describe(), "Child process ended");
    reaper().ended.lock().unwrap_or_else(|e| e.into_inner()).insert(pid, (how, Instant::now()));
}

/// Takes the exit of `pid` if it has been collected.
pub fn take(pid: i32) -> Option<Ended> {
    reaper().ended.lock().unwrap_or_else(|e| e.into_inner()).remove(&pid).map(|(how, _)| how)
}

/// Waits until `pid` ends. `None` when it ended without being collected here (it was not ours:
/// the liveness check found it gone).
pub async fn wait(pid: i32) -> Option<Ended> {
    let mut tick = reaper().tick.subscribe();
    loop {
        if let Some(how) = take(pid) {
            return Some(how);
        }
        if !super::procfs::alive(pid) {
            // Give the collector one round to take a zombie of ours.
            collect();
            return take(pid);
        }
        tokio::select! {
            _ = tick.changed() => {}
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
        }
    }
}
