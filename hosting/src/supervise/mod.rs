//! Supervision: one task per running release of a service. It starts the release on a port of
//! the range, watches its PID (exits come from [`reap`], with their codes) and probes its port;
//! when the service dies or stops accepting connections it restarts it after a backoff that
//! doubles with each crash (`keel_sdk::service::retry::until_up`), and after `crash_burst`
//! crashes within `crash_window_ms` it gives up and reports `FAILED` (systemd's
//! `Restart=on-failure` with `StartLimitBurst`). Every start, exit and status change is reported
//! as an [`Event`]; the host records them and routes by them.

pub mod instance;
pub mod ports;
pub mod procfs;
pub mod reap;
pub mod spawn;

use std::cell::Cell;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

use backon::BackoffBuilder;
use keel_sdk::service::retry;
use tokio::sync::{mpsc, watch};

use crate::model::{unix_ms, Exit, ServiceStatus, Tracked};
pub use instance::{Spec, Started, Timing};

/// When to give up and how long to wait between starts.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Starts, stops.
    pub timing: Timing,
    /// The ports to choose from.
    pub ports: std::ops::RangeInclusive<u16>,
    /// Between two probes of the port.
    pub probe_interval: Duration,
    /// Failed probes in a row that count as a crash.
    pub probe_failures: u32,
    /// First and longest pause before a restart.
    pub backoff: (Duration, Duration),
    /// `FAILED` after this many crashes ...
    pub crash_burst: u32,
    /// ... within this window.
    pub crash_window: Duration,
}

/// What a supervisor is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Serve until stopped; `FAILED` after too many crashes.
    Serve,
    /// An upgrade's new release: give up after this many failed starts before the first success
    /// (then serve like any other).
    Upgrade { attempts: u32 },
}

/// What a supervisor reports, tagged with its service and version.
#[derive(Debug, Clone)]
pub struct Event {
    /// `service.app_id`.
    pub app_id: String,
    /// The release.
    pub version: String,
    /// What happened.
    pub what: Happened,
}

/// What happened to a release.
#[derive(Debug, Clone)]
pub enum Happened {
    /// Its status changed (with the port and PID while it runs).
    Status { status: ServiceStatus, port: Option<u16>, pid: Option<i32> },
    /// Its start script was spawned (then its service runs): what to track so that nothing of it
    /// is left behind. Noted in the run ledger before it is reported.
    Track(Tracked),
    /// It ended; `restarting` when another start follows.
    Exited { exit: Exit, restarting: bool },
    /// An upgrade's release gave up before ever serving.
    GaveUp { reason: String },
    /// It was stopped on request; nothing of it runs any more.
    Stopped,
}

/// Control of a running supervisor.
pub struct Handle {
    stop: watch::Sender<bool>,
    reset: watch::Sender<u64>,
    done: watch::Receiver<bool>,
}

impl Handle {
    /// Stops the release and waits until nothing of it runs.
    pub async fn stop(&self) {
        let _ = self.stop.send(true);
        let mut done = self.done.clone();
        let _ = done.wait_for(|d| *d).await;
    }

    /// Starts a `FAILED` release again with a clean crash count (the host sends it only to a
    /// `FAILED` one; anything sent before it failed is ignored).
    pub fn reset(&self) {
        self.reset.send_modify(|n| *n += 1);
    }

    /// Whether the supervisor has ended.
    pub fn is_done(&self) -> bool {
        *self.done.borrow()
    }
}

/// Starts supervising `spec` on the current arbiter.
pub fn spawn(spec: Spec, policy: Policy, mode: Mode, events: mpsc::UnboundedSender<Event>) -> Handle {
    let (stop, stop_rx) = watch::channel(false);
    let (reset, reset_rx) = watch::channel(0u64);
    let (done_tx, done) = watch::channel(false);
    actix_rt::spawn(async move {
        let sup = Supervisor { spec, policy, mode, events };
        sup.run(stop_rx, reset_rx).await;
        let _ = done_tx.send(true);
    });
    Handle { stop, reset, done }
}

struct Supervisor {
    spec: Spec,
    policy: Policy,
    mode: Mode,
    events: mpsc::UnboundedSender<Event>,
}

/// How a run of the service ended.
enum Ending {
    Crashed(Exit),
    StopRequested,
}

impl Supervisor {
    fn emit(&self, what: Happened) {
        let _ = self.events.send(Event {
            app_id: self.spec.app_id.clone(),
            version: self.spec.version.clone(),
            what,
        });
    }

    fn status(&self, status: ServiceStatus, port: Option<u16>, pid: Option<i32>) {
        self.emit(Happened::Status { status, port, pid });
    }

    fn exit(&self, reason: String, ended: Option<reap::Ended>) -> Exit {
        let (code, signal) = match ended {
            Some(reap::Ended::Code(c)) => (Some(c), None),
            Some(reap::Ended::Signal(s)) => (None, Some(s)),
            None => (None, None),
        };
        Exit { at_ms: unix_ms(), version: self.spec.version.clone(), code, signal, reason }
    }

    async fn run(self, mut stop: watch::Receiver<bool>, mut reset: watch::Receiver<u64>) {
        let mut crashes: VecDeque<Instant> = VecDeque::new();
        let mut backoff = retry::until_up(self.policy.backoff.0, self.policy.backoff.1).build();
        let mut served = false;
        let mut failed_starts = 0u32;
        loop {
            if *stop.borrow() {
                break;
            }
            self.status(ServiceStatus::Starting, None, None);
            let ending = self.run_once(&mut stop, &mut served).await;
            let exit = match ending {
                Ending::StopRequested => break,
                Ending::Crashed(exit) => exit,
            };
            // A long healthy run forgives earlier crashes.
            let now = Instant::now();
            while crashes.front().is_some_and(|t| now.duration_since(*t) > self.policy.crash_window) {
                crashes.pop_front();
            }
            if crashes.is_empty() {
                backoff = retry::until_up(self.policy.backoff.0, self.policy.backoff.1).build();
            }
            crashes.push_back(now);
            if let (Mode::Upgrade { attempts }, false) = (self.mode, served) {
                failed_starts += 1;
                if failed_starts >= attempts {
                    self.emit(Happened::Exited { exit: exit.clone(), restarting: false });
                    self.emit(Happened::GaveUp { reason: exit.reason });
                    return;
                }
            }
            if crashes.len() as u32 >= self.policy.crash_burst {
                // Only a restart asked for once it is FAILED counts (a watch keeps an unseen
                // change: one sent while it ran would skip this FAILED at once).
                reset.borrow_and_update();
                self.emit(Happened::Exited { exit, restarting: false });
                tracing::warn!(app_id = %self.spec.app_id, version = %self.spec.version, crashes = crashes.len(), "Hosted service FAILED: too many crashes");
                self.status(ServiceStatus::Failed, None, None);
                tokio::select! {
                    _ = stop.wait_for(|s| *s) => break,
                    _ = reset.changed() => {
                        crashes.clear();
                        backoff = retry::until_up(self.policy.backoff.0, self.policy.backoff.1).build();
                        continue;
                    }
                }
            }
            self.emit(Happened::Exited { exit, restarting: true });
            self.status(ServiceStatus::Restarting, None, None);
            let pause = backoff.next().unwrap_or(self.policy.backoff.1);
            tokio::select! {
                _ = stop.wait_for(|s| *s) => break,
                _ = tokio::time::sleep(pause) => {}
            }
        }
        self.emit(Happened::Stopped);
    }

    /// One start and, if it works, the watch until the service ends or a stop is asked for.
    async fn run_once(&self, stop: &mut watch::Receiver<bool>, served: &mut bool) -> Ending {
        let Some(lease) = ports::lease(self.policy.ports.clone()) else {
            let range = &self.policy.ports;
            return Ending::Crashed(
                self.exit(format!("no free port in {}-{}", range.start(), range.end()), None),
            );
        };
        let port = lease.port();
        let timing = self.policy.timing;
        let group: Cell<Option<i32>> = Cell::new(None);
        let spawned = |pgid: i32, ticks: u64| {
            group.set(Some(pgid));
            self.track(Tracked {
                pid: pgid,
                pgid,
                start_ticks: ticks,
                group_ticks: ticks,
                port,
                version: self.spec.version.clone(),
            });
        };
        let started = tokio::select! {
            r = instance::start(&self.spec, port, timing, spawned) => r,
            _ = stop.wait_for(|s| *s) => {
                // The start is dropped half-way: end whatever it started.
                self.stop_half_started(group.get()).await;
                self.untrack();
                return Ending::StopRequested;
            }
        };
        let started = match started {
            Ok(s) => s,
            Err(f) => {
                // instance::start left nothing running.
                self.untrack();
                tracing::warn!(app_id = %self.spec.app_id, reason = %f.reason, "Hosted service did not start");
                return Ending::Crashed(self.exit(f.reason, f.ended));
            }
        };
        *served = true;
        self.track(Tracked {
            pid: started.pid,
            pgid: started.pgid,
            start_ticks: started.start_ticks,
            group_ticks: started.group_ticks,
            port,
            version: self.spec.version.clone(),
        });
        self.status(ServiceStatus::Running, Some(port), Some(started.pid));
        tracing::info!(app_id = %self.spec.app_id, version = %self.spec.version, port, pid = started.pid, "Hosted service running");
        let ending = self.watch(&started, stop).await;
        if let Ending::StopRequested = ending {
            self.status(ServiceStatus::Stopping, Some(port), Some(started.pid));
        }
        // Stopped on request, or a crash: nothing of it may stay (a hung process, workers of a
        // dead one). The ledger goes only once it is all gone.
        instance::stop(&self.spec, &started, timing).await;
        self.untrack();
        drop(lease);
        ending
    }

    /// Notes `t` in the run ledger (at once, on disk: what a killed hosting's successor sweeps;
    /// written beside and renamed over, so a kill never leaves half a note), then reports it (the
    /// host keeps a copy in the store).
    fn track(&self, t: Tracked) {
        let ledger = &self.spec.ledger;
        let mut partial = ledger.clone().into_os_string();
        partial.push(".new");
        let written = ledger
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| serde_json::to_vec(&t).map_err(std::io::Error::other))
            .and_then(|bytes| std::fs::write(&partial, bytes))
            .and_then(|()| std::fs::rename(&partial, ledger));
        if let Err(e) = written {
            tracing::warn!(app_id = %self.spec.app_id, ledger = %self.spec.ledger.display(), error = %e, "Cannot note a started process for the boot sweep");
        }
        self.emit(Happened::Track(t));
    }

    /// Nothing of this release runs any more: its ledger goes.
    fn untrack(&self) {
        let _ = std::fs::remove_file(&self.spec.ledger);
    }

    /// Until the service exits, stops accepting connections, or a stop is asked for.
    async fn watch(&self, started: &Started, stop: &mut watch::Receiver<bool>) -> Ending {
        let mut exited = started.exited.clone();
        let mut probe = tokio::time::interval(self.policy.probe_interval);
        probe.tick().await;
        let mut failures = 0u32;
        loop {
            tokio::select! {
                seen = exited.wait_for(Option::is_some) => {
                    let how = seen.map(|v| v.flatten()).unwrap_or(None);
                    let reason = format!("the service (pid {}) {}", started.pid,
                        how.map(reap::Ended::describe).unwrap_or_else(|| "ended".into()));
                    tracing::warn!(app_id = %self.spec.app_id, %reason, "Hosted service exited");
                    return Ending::Crashed(self.exit(reason, how));
                }
                _ = stop.wait_for(|s| *s) => return Ending::StopRequested,
                _ = probe.tick() => {
                    if instance::accepts(started.port).await {
                        failures = 0;
                    } else {
                        failures += 1;
                        if failures >= self.policy.probe_failures {
                            let reason = format!("the service stopped accepting connections on port {} ({failures} probes failed)", started.port);
                            tracing::warn!(app_id = %self.spec.app_id, %reason, "Hosted service hung; restarting it");
                            return Ending::Crashed(self.exit(reason, None));
                        }
                    }
                }
            }
        }
    }

    /// After a start was abandoned (uninstall or shutdown while `STARTING`): the script's whole
    /// process group (whether or not the PID file is written yet) and the PID the file names (a
    /// service that left the group), SIGTERM, then SIGKILL after the grace.
    async fn stop_half_started(&self, group: Option<i32>) {
        let pid_file = self.spec.script.workspace.join(&self.spec.pid_file);
        let pid = std::fs::read_to_string(pid_file)
            .ok()
            .and_then(|t| t.trim().parse::<i32>().ok())
            .filter(|p| *p > 1 && procfs::alive(*p));
        tracing::info!(app_id = %self.spec.app_id, version = %self.spec.version, ?group, ?pid, "Stopped while starting; ending what the start script started");
        let groups: Vec<i32> = group.into_iter().collect();
        let pids: Vec<i32> = pid.into_iter().collect();
        instance::terminate(&groups, &pids, self.policy.timing.stop_grace).await;
    }
}
