//! The host: what is installed and what runs. [`Shared`] is read by every worker (the route
//! table, lock-free; the listings); one [`Manager`] task on the main arbiter changes it, in
//! order: installs, upgrades, uninstalls (commands from the API) and what the supervisors report
//! (events), each change written to the state store before it is answered.
//!
//! Boot, in order: wait for the sidecar and the store; sweep every process a previous run
//! recorded (a killed hosting leaves its services running); unpack again any release whose files
//! are gone (from the archive in the store); start every installed service; install the boot
//! folder's bundles; then report `ACTIVE`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use keel_sdk::dapr::DaprClient;
use keel_sdk::plugin::StatusHandle;
use keel_sdk::protocol::PluginStatus;
use tokio::sync::{mpsc, oneshot, watch};

use crate::bundle::{self, Limits, Staged, WORKSPACE};
use crate::config::Config;
use crate::error::HostingError;
use crate::model::{
    unix_ms, Records, Release, ServiceRecord, ServiceStatus, ServiceView, Tracked, UpgradeView,
};
use crate::store::Store;
use crate::supervise::{self, instance, procfs, spawn, Event, Happened, Mode, Policy};

/// One root's route.
#[derive(Debug, Clone)]
pub struct Route {
    /// The service serving it.
    pub app_id: String,
    /// Its status (only `RUNNING` is forwarded to).
    pub status: ServiceStatus,
    /// Its port while it runs.
    pub port: Option<u16>,
    /// Reachable without a login (`is_open`).
    pub is_open: bool,
}

/// Every root, as the proxy sees it.
pub type RouteTable = HashMap<String, Route>;

/// The live state of one release.
#[derive(Debug, Clone)]
struct Live {
    version: String,
    status: ServiceStatus,
    port: Option<u16>,
    pid: Option<i32>,
}

impl Live {
    fn starting(version: &str) -> Self {
        Self { version: version.to_owned(), status: ServiceStatus::Starting, port: None, pid: None }
    }
}

/// A service's releases: the one that serves, and an upgrade's.
#[derive(Debug, Clone)]
struct LiveService {
    serving: Live,
    upgrading: Option<Live>,
    stopping: bool,
}

#[derive(Default)]
struct State {
    records: Records,
    live: BTreeMap<String, LiveService>,
}

/// What every worker shares.
pub struct Shared {
    /// The configuration.
    pub cfg: Config,
    routes: ArcSwap<RouteTable>,
    state: Mutex<State>,
    cmds: mpsc::UnboundedSender<Cmd>,
    /// hosting's own `/v1/status`.
    pub status: StatusHandle,
    ready: AtomicBool,
    /// Turns true when a service is uninstalled (ends its log follows).
    gone: Mutex<HashMap<String, watch::Sender<bool>>>,
}

/// What an install did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Installed {
    /// A new service.
    New,
    /// An upgrade of an installed one, started beside it.
    Upgrade,
}

type Reply<T> = oneshot::Sender<Result<T, HostingError>>;

enum Cmd {
    Install { staged: Box<Staged>, reply: Reply<(Installed, ServiceView)> },
    Uninstall { app_id: String, reply: Reply<ServiceView> },
    Restart { app_id: String, reply: Reply<ServiceView> },
    Finish { app_id: String, reply: Reply<ServiceView> },
    Shutdown { reply: oneshot::Sender<()> },
}

// === impl Shared ===

impl Shared {
    /// The route of `root`.
    pub fn route(&self, root: &str) -> Option<Route> {
        self.routes.load().get(root).cloned()
    }

    /// Whether boot is over.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every installed service.
    pub fn list(&self) -> Vec<ServiceView> {
        let st = self.lock();
        st.records.values().map(|r| view(r, st.live.get(&r.app_id), false)).collect()
    }

    /// One service, with its history.
    pub fn get(&self, app_id: &str) -> Option<ServiceView> {
        let st = self.lock();
        st.records.get(app_id).map(|r| view(r, st.live.get(app_id), true))
    }

    /// Where `app_id`'s output is: hosting's capture, or the serving release's `nohup.out`.
    pub fn log_path(&self, app_id: &str, source: LogSource) -> Option<PathBuf> {
        let st = self.lock();
        let rec = st.records.get(app_id)?;
        Some(match source {
            LogSource::Output => crate::logs::output_path(&self.cfg.data_dir, app_id),
            LogSource::Nohup => {
                release_dir(&self.cfg.data_dir, app_id, &rec.current).join(WORKSPACE).join("nohup.out")
            }
        })
    }

    /// A watch that turns true when `app_id` is uninstalled.
    pub fn gone(&self, app_id: &str) -> watch::Receiver<bool> {
        let mut g = self.gone.lock().unwrap_or_else(|e| e.into_inner());
        g.entry(app_id.to_owned()).or_insert_with(|| watch::channel(false).0).subscribe()
    }

    async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Cmd) -> Result<T, HostingError> {
        if !self.is_ready() {
            return Err(HostingError::NotReady);
        }
        let (tx, rx) = oneshot::channel();
        self.cmds.send(make(tx)).map_err(|_| HostingError::NotReady)?;
        rx.await.map_err(|_| HostingError::internal("the host stopped while answering"))?
    }

    /// Installs (or upgrades to) a checked bundle.
    pub async fn install(&self, staged: Staged) -> Result<(Installed, ServiceView), HostingError> {
        self.ask(|reply| Cmd::Install { staged: Box::new(staged), reply }).await
    }

    /// Stops and removes a service.
    pub async fn uninstall(&self, app_id: &str) -> Result<ServiceView, HostingError> {
        self.ask(|reply| Cmd::Uninstall { app_id: app_id.to_owned(), reply }).await
    }

    /// Starts a `FAILED` service again.
    pub async fn restart(&self, app_id: &str) -> Result<ServiceView, HostingError> {
        self.ask(|reply| Cmd::Restart { app_id: app_id.to_owned(), reply }).await
    }

    /// Stops every service (platform shutdown); their records stay, so they start again.
    pub async fn shutdown(&self) {
        let (tx, rx) = oneshot::channel();
        if self.cmds.send(Cmd::Shutdown { reply: tx }).is_ok() {
            let _ = rx.await;
        }
    }

    /// Checks and stages an archive (blocking work, off the workers).
    pub async fn stage(&self, archive: Vec<u8>) -> Result<Staged, HostingError> {
        let staging = self.cfg.data_dir.join("staging");
        let limits = limits(&self.cfg);
        actix_web::web::block(move || bundle::stage(archive, &staging, limits))
            .await
            .map_err(HostingError::internal)?
    }

    fn publish(&self, st: &State) {
        let mut table = RouteTable::new();
        for (app_id, live) in &st.live {
            let Some(rec) = st.records.get(app_id) else { continue };
            if live.stopping {
                continue;
            }
            table.insert(
                rec.current.root_route.clone(),
                Route {
                    app_id: app_id.clone(),
                    status: live.serving.status,
                    port: live.serving.port,
                    is_open: rec.current.is_open,
                },
            );
        }
        self.routes.store(Arc::new(table));
    }
}

/// Which output to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogSource {
    /// What the script and the service print (hosting's capture).
    Output,
    /// The seed's `nohup.out` in the workspace.
    Nohup,
}

fn limits(cfg: &Config) -> Limits {
    Limits { max_unpacked_bytes: cfg.max_unpacked_bytes, max_entries: cfg.max_entries }
}

fn view(r: &ServiceRecord, live: Option<&LiveService>, detailed: bool) -> ServiceView {
    let serving = live.map(|l| &l.serving);
    let status = match live {
        Some(l) if l.stopping => ServiceStatus::Stopping,
        Some(l) => l.serving.status,
        None => ServiceStatus::Starting,
    };
    ServiceView {
        app_id: r.app_id.clone(),
        name: r.current.name.clone(),
        version: r.current.version.clone(),
        root_route: r.current.root_route.clone(),
        is_open: r.current.is_open,
        status,
        port: serving.and_then(|s| s.port),
        pid: serving.and_then(|s| s.pid),
        restarts: r.restarts,
        last_exit: r.history.last().cloned(),
        upgrading: live
            .and_then(|l| l.upgrading.as_ref())
            .map(|u| UpgradeView { version: u.version.clone(), status: u.status }),
        last_upgrade_error: r.last_upgrade_error.clone(),
        installed_at_ms: r.installed_at_ms,
        updated_at_ms: r.updated_at_ms,
        args: r.current.args.clone(),
        start_file: r.current.start_file.clone(),
        history: detailed.then(|| r.history.clone()),
    }
}

/// `data_dir/services/<app_id>/<version>-<sha>`.
fn release_dir(data_dir: &Path, app_id: &str, release: &Release) -> PathBuf {
    data_dir.join("services").join(app_id).join(release.dir_name())
}

fn ledger_path(data_dir: &Path, app_id: &str, version: &str) -> PathBuf {
    data_dir.join("run").join(format!("{app_id}@{version}.json"))
}

/// Starts the host: the shared part at once, the manager (boot, then commands) on this arbiter.
pub fn start(cfg: Config, dapr: DaprClient) -> (Arc<Shared>, actix_rt::task::JoinHandle<()>) {
    let (cmds, cmd_rx) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        cfg: cfg.clone(),
        routes: ArcSwap::from_pointee(RouteTable::new()),
        state: Mutex::new(State::default()),
        cmds,
        status: StatusHandle::new(PluginStatus::Starting),
        ready: AtomicBool::new(false),
        gone: Mutex::new(HashMap::new()),
    });
    let (events_tx, events) = mpsc::unbounded_channel();
    let store = Store::new(dapr, &cfg.store, cfg.archive_chunk_bytes);
    let manager =
        Manager { shared: shared.clone(), store, sups: HashMap::new(), events_tx, retiring: HashMap::new() };
    let task = actix_rt::spawn(manager.run(cmd_rx, events));
    (shared, task)
}

type Key = (String, String);

struct Manager {
    shared: Arc<Shared>,
    store: Store,
    sups: HashMap<Key, supervise::Handle>,
    events_tx: mpsc::UnboundedSender<Event>,
    /// Releases replaced by an upgrade and being stopped: their files and archive go once stopped.
    retiring: HashMap<Key, Release>,
}

// === impl Manager ===

impl Manager {
    fn cfg(&self) -> &Config {
        &self.shared.cfg
    }

    fn policy(&self) -> Policy {
        let c = self.cfg();
        Policy {
            timing: instance::Timing {
                start_timeout: Config::ms(c.start_timeout_ms),
                stop_script_timeout: Config::ms(c.stop_script_timeout_ms),
                stop_grace: Config::ms(c.stop_grace_ms),
            },
            ports: c.ports(),
            probe_interval: Config::ms(c.probe_interval_ms),
            probe_failures: c.probe_failures,
            backoff: (Config::ms(c.restart_backoff_min_ms), Config::ms(c.restart_backoff_max_ms)),
            crash_burst: c.crash_burst,
            crash_window: Config::ms(c.crash_window_ms),
        }
    }

    fn spec(&self, app_id: &str, release: &Release) -> instance::Spec {
        let workspace = release_dir(&self.cfg().data_dir, app_id, release).join(WORKSPACE);
        let output = crate::logs::output_path(&self.cfg().data_dir, app_id);
        instance::Spec {
            app_id: app_id.to_owned(),
            version: release.version.clone(),
            args: release.args.clone(),
            script: spawn::Script {
                env: spawn::environment(&workspace, app_id, &release.root_route),
                workspace,
                start_file: release.start_file.clone(),
                output,
            },
            pid_file: self.cfg().pid_file.clone(),
            ledger: ledger_path(&self.cfg().data_dir, app_id, &release.version),
        }
    }

    fn supervise(&mut self, app_id: &str, release: &Release, mode: Mode) {
        let spec = self.spec(app_id, release);
        if let Some(parent) = spec.script.output.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        let handle = supervise::spawn(spec, self.policy(), mode, self.events_tx.clone());
        self.sups.insert((app_id.to_owned(), release.version.clone()), handle);
    }

    /// Writes a change to the store and, once written, to the shared state.
    async fn commit<F>(&self, change: F) -> Result<(), HostingError>
    where
        F: FnMut(&mut Records) -> Result<(), HostingError>,
    {
        let records = self.store.update(change).await?;
        let mut st = self.shared.lock();
        st.records = records;
        self.shared.publish(&st);
        Ok(())
    }

    fn change_live(&self, f: impl FnOnce(&mut BTreeMap<String, LiveService>)) {
        let mut st = self.shared.lock();
        f(&mut st.live);
        self.shared.publish(&st);
    }

    async fn run(
        mut self,
        mut cmds: mpsc::UnboundedReceiver<Cmd>,
        mut events: mpsc::UnboundedReceiver<Event>,
    ) {
        self.boot().await;
        let mut rotate = tokio::time::interval(Duration::from_secs(5));
        loop {
            tokio::select! {
                cmd = cmds.recv() => match cmd {
                    Some(Cmd::Shutdown { reply }) => {
                        self.shutdown(&mut events).await;
                        let _ = reply.send(());
                        return;
                    }
                    Some(cmd) => self.command(cmd).await,
                    None => return,
                },
                Some(ev) = events.recv() => self.event(ev).await,
                _ = rotate.tick() => self.rotate_logs(),
            }
        }
    }

    // --- boot ---

    async fn boot(&mut self) {
        let wait = Config::ms(self.cfg().sidecar_wait_ms);
        if let Err(e) = self.store.dapr().wait_for_sidecar(wait).await {
            tracing::warn!(error = %e, "The sidecar is not up yet; waiting for the store anyway");
        }
        let (records, _) = self.store.wait_ready().await;
        self.sweep(&records).await;
        // What ran before is gone now: forget it.
        let records = match self
            .store
            .update(|doc| {
                doc.values_mut().for_each(|r| r.processes.clear());
                Ok(())
            })
            .await
        {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "Cannot clear the recorded processes");
                records
            }
        };
        {
            let mut st = self.shared.lock();
            st.records = records.clone();
        }
        for rec in records.values() {
            let mut releases = vec![rec.current.clone()];
            releases.extend(rec.pending.clone());
            for (i, release) in releases.iter().enumerate() {
                if let Err(e) = self.ensure_unpacked(&rec.app_id, release).await {
                    tracing::error!(app_id = %rec.app_id, version = %release.version, error = %e, "Cannot restore the release's files; it is not started");
                    continue;
                }
                let mode = if i == 0 {
                    Mode::Serve
                } else {
                    Mode::Upgrade { attempts: self.cfg().upgrade_attempts }
                };
                self.change_live(|live| {
                    let entry = live.entry(rec.app_id.clone()).or_insert_with(|| LiveService {
                        serving: Live::starting(&rec.current.version),
                        upgrading: None,
                        stopping: false,
                    });
                    if i > 0 {
                        entry.upgrading = Some(Live::starting(&release.version));
                    }
                });
                self.supervise(&rec.app_id, release, mode);
            }
        }
        tracing::info!(services = records.len(), "Installed services started");
        self.shared.ready.store(true, Ordering::Release);
        self.install_boot_bundles().await;
        self.shared.status.set(PluginStatus::Active);
    }

    /// Ends everything a previous run noted that still runs (a killed hosting leaves its
    /// services, and starts half done, running): the start scripts' process groups and the
    /// services, SIGTERM, then SIGKILL after the grace (see [`leftover`]).
    async fn sweep(&self, records: &Records) {
        let mut tracked: Vec<Tracked> = records.values().flat_map(|r| r.processes.clone()).collect();
        let run = self.cfg().data_dir.join("run");
        for entry in std::fs::read_dir(&run).into_iter().flatten().flatten() {
            if let Some(t) =
                std::fs::read(entry.path()).ok().and_then(|b| serde_json::from_slice::<Tracked>(&b).ok())
            {
                tracked.push(t);
            }
            let _ = std::fs::remove_file(entry.path());
        }
        let (mut groups, mut pids) = (Vec::new(), Vec::new());
        for t in &tracked {
            let (group, pid) = leftover(t);
            if group.is_some() || pid.is_some() {
                tracing::warn!(pid = t.pid, pgid = t.pgid, version = %t.version, "A service of a previous run still runs; stopping it");
            }
            groups.extend(group);
            pids.extend(pid);
        }
        for v in [&mut groups, &mut pids] {
            v.sort_unstable();
            v.dedup();
        }
        instance::terminate(&groups, &pids, Config::ms(self.cfg().stop_grace_ms)).await;
    }

    /// Unpacks `release` again from the store when its folder is gone (an emptied data dir).
    async fn ensure_unpacked(&self, app_id: &str, release: &Release) -> Result<(), HostingError> {
        let dir = release_dir(&self.cfg().data_dir, app_id, release);
        if dir.join(bundle::MANIFEST).exists() {
            return Ok(());
        }
        tracing::info!(app_id, version = %release.version, "Restoring the release's files from the store");
        let archive = self.store.get_archive(app_id, &release.archive).await?;
        let staging = self.cfg().data_dir.join("staging");
        let limits = limits(self.cfg());
        let staged = tokio::task::spawn_blocking(move || bundle::stage(archive, &staging, limits))
            .await
            .map_err(HostingError::internal)??;
        let moved = place(&staged, &dir);
        staged.discard();
        moved
    }

    async fn install_boot_bundles(&mut self) {
        let Some(dir) = self.cfg().bundles_dir.clone() else { return };
        let mut entries: Vec<PathBuf> =
            std::fs::read_dir(&dir).into_iter().flatten().flatten().map(|e| e.path()).collect();
        entries.sort();
        for path in entries {
            let archive = if path.is_dir() {
                bundle::pack::pack(&path)
            } else if path.to_string_lossy().ends_with(".tar.gz") || path.to_string_lossy().ends_with(".tgz")
            {
                std::fs::read(&path)
            } else {
                continue;
            };
            let archive = match archive {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(bundle = %path.display(), error = %e, "Cannot read a boot bundle");
                    continue;
                }
            };
            let staged = match self.shared.stage(archive).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(bundle = %path.display(), error = %e, "Boot bundle refused");
                    continue;
                }
            };
            let installed = {
                let st = self.shared.lock();
                st.records.get(&staged.manifest.app_id).is_some_and(|r| {
                    r.current.version == staged.manifest.version
                        || r.pending.as_ref().is_some_and(|p| p.version == staged.manifest.version)
                })
            };
            if installed {
                tracing::debug!(bundle = %path.display(), "Boot bundle installed already");
                staged.discard();
                continue;
            }
            match self.install(staged).await {
                Ok((how, view)) => {
                    tracing::info!(bundle = %path.display(), app_id = %view.app_id, version = %view.version, ?how, "Boot bundle installed")
                }
                Err(e) => tracing::warn!(bundle = %path.display(), error = %e, "Boot bundle refused"),
            }
        }
    }

    // --- commands ---

    async fn command(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::Install { staged, reply } => {
                let res = self.install(*staged).await;
                let _ = reply.send(res);
            }
            Cmd::Uninstall { app_id, reply } => self.uninstall(app_id, reply),
            Cmd::Restart { app_id, reply } => {
                let res = self.restart(&app_id);
                let _ = reply.send(res);
            }
            Cmd::Finish { app_id, reply } => {
                let res = self.finish_uninstall(&app_id).await;
                let _ = reply.send(res);
            }
            Cmd::Shutdown { .. } => {}
        }
    }

    /// Checks `staged` against what is installed; `Some(record)` for an upgrade.
    fn check(records: &Records, staged: &Staged) -> Result<Option<ServiceRecord>, HostingError> {
        let m = &staged.manifest;
        for rec in records.values().filter(|r| r.app_id != m.app_id) {
            let roots = std::iter::once(&rec.current).chain(rec.pending.iter()).map(|r| &r.root_route);
            if roots.into_iter().any(|root| *root == m.root_route) {
                return Err(HostingError::RootRouteTaken {
                    root: m.root_route.clone(),
                    by: rec.app_id.clone(),
                });
            }
        }
        let Some(rec) = records.get(&m.app_id) else { return Ok(None) };
        if let Some(p) = &rec.pending {
            return Err(HostingError::UpgradeInProgress {
                app_id: m.app_id.clone(),
                version: p.version.clone(),
            });
        }
        if rec.current.version == m.version {
            return Err(HostingError::AlreadyInstalled {
                app_id: m.app_id.clone(),
                version: m.version.clone(),
            });
        }
        Ok(Some(rec.clone()))
    }

    async fn install(&mut self, staged: Staged) -> Result<(Installed, ServiceView), HostingError> {
        let res = self.try_install(&staged).await;
        staged.discard();
        res
    }

    async fn try_install(&mut self, staged: &Staged) -> Result<(Installed, ServiceView), HostingError> {
        let m = staged.manifest.clone();
        {
            let st = self.shared.lock();
            if st.live.get(&m.app_id).is_some_and(|l| l.stopping) {
                return Err(HostingError::UpgradeInProgress {
                    app_id: m.app_id.clone(),
                    version: "(uninstall)".into(),
                });
            }
            Self::check(&st.records, staged)?;
        }
        // The archive first, then the files, then the record: each undone if a later step fails.
        let archive = self.store.put_archive(&m.app_id, &staged.sha256, &staged.archive).await?;
        let release = Release {
            version: m.version.clone(),
            name: m.name.clone(),
            root_route: m.root_route.clone(),
            start_file: m.start_file.clone(),
            is_open: m.is_open,
            args: m.args.clone(),
            manifest: staged.manifest_text.clone(),
            archive: archive.clone(),
        };
        let dir = release_dir(&self.cfg().data_dir, &m.app_id, &release);
        if let Err(e) = place(staged, &dir) {
            self.store.delete_archive(&m.app_id, &archive).await;
            return Err(e);
        }
        let mut how = Installed::New;
        let now = unix_ms();
        let committed = self
            .commit(|doc| {
                how = match Self::check(doc, staged)? {
                    None => {
                        doc.insert(
                            m.app_id.clone(),
                            ServiceRecord {
                                app_id: m.app_id.clone(),
                                current: release.clone(),
                                pending: None,
                                installed_at_ms: now,
                                updated_at_ms: now,
                                restarts: 0,
                                history: Vec::new(),
                                last_upgrade_error: None,
                                processes: Vec::new(),
                            },
                        );
                        Installed::New
                    }
                    Some(_) => {
                        let rec = doc
                            .get_mut(&m.app_id)
                            .ok_or_else(|| HostingError::internal("record vanished"))?;
                        rec.pending = Some(release.clone());
                        rec.last_upgrade_error = None;
                        Installed::Upgrade
                    }
                };
                Ok(())
            })
            .await;
        if let Err(e) = committed {
            let _ = std::fs::remove_dir_all(&dir);
            let shared_archive =
                self.shared.lock().records.get(&m.app_id).is_some_and(|r| r.current.archive == archive);
            if !shared_archive {
                self.store.delete_archive(&m.app_id, &archive).await;
            }
            return Err(e);
        }
        match how {
            Installed::New => {
                self.change_live(|live| {
                    live.insert(
                        m.app_id.clone(),
                        LiveService { serving: Live::starting(&m.version), upgrading: None, stopping: false },
                    );
                });
                self.supervise(&m.app_id, &release, Mode::Serve);
                tracing::info!(app_id = %m.app_id, version = %m.version, root_route = %m.root_route, "Hosted service installed");
            }
            Installed::Upgrade => {
                self.change_live(|live| {
                    if let Some(l) = live.get_mut(&m.app_id) {
                        l.upgrading = Some(Live::starting(&m.version));
                    }
                });
                self.supervise(&m.app_id, &release, Mode::Upgrade { attempts: self.cfg().upgrade_attempts });
                tracing::info!(app_id = %m.app_id, version = %m.version, "Hosted service upgrade started");
            }
        }
        let view =
            self.shared.get(&m.app_id).ok_or_else(|| HostingError::internal("installed record missing"))?;
        Ok((how, view))
    }

    fn uninstall(&mut self, app_id: String, reply: Reply<ServiceView>) {
        let known = {
            let st = self.shared.lock();
            st.records.contains_key(&app_id) && !st.live.get(&app_id).is_some_and(|l| l.stopping)
        };
        if !known {
            let _ = reply.send(Err(HostingError::NotFound(app_id)));
            return;
        }
        // The route goes at once; the processes are stopped off the command loop.
        self.change_live(|live| {
            if let Some(l) = live.get_mut(&app_id) {
                l.stopping = true;
            }
        });
        let keys: Vec<Key> = self.sups.keys().filter(|(a, _)| *a == app_id).cloned().collect();
        let handles: Vec<supervise::Handle> = keys.iter().filter_map(|k| self.sups.remove(k)).collect();
        let cmds = self.shared.cmds.clone();
        actix_rt::spawn(async move {
            futures_util::future::join_all(handles.iter().map(|h| h.stop())).await;
            let _ = cmds.send(Cmd::Finish { app_id, reply });
        });
    }

    async fn finish_uninstall(&mut self, app_id: &str) -> Result<ServiceView, HostingError> {
        let before = self.shared.get(app_id);
        let mut removed: Option<ServiceRecord> = None;
        let res = self
            .commit(|doc| {
                removed = doc.remove(app_id);
                Ok(())
            })
            .await;
        if let Err(e) = res {
            self.change_live(|live| {
                if let Some(l) = live.get_mut(app_id) {
                    l.stopping = false;
                }
            });
            return Err(e);
        }
        if let Some(rec) = &removed {
            self.store.delete_archive(app_id, &rec.current.archive).await;
            if let Some(p) = &rec.pending {
                self.store.delete_archive(app_id, &p.archive).await;
            }
        }
        let data = self.cfg().data_dir.clone();
        let _ = std::fs::remove_dir_all(data.join("services").join(app_id));
        let _ = std::fs::remove_dir_all(data.join("logs").join(app_id));
        self.change_live(|live| {
            live.remove(app_id);
        });
        if let Some(tx) = self.shared.gone.lock().unwrap_or_else(|e| e.into_inner()).remove(app_id) {
            let _ = tx.send(true);
        }
        tracing::info!(app_id, "Hosted service uninstalled");
        let mut view = before.ok_or_else(|| HostingError::NotFound(app_id.to_owned()))?;
        view.status = ServiceStatus::Stopping;
        view.port = None;
        view.pid = None;
        Ok(view)
    }

    /// A `FAILED` service starts again; any other status is refused (409), so that nothing is
    /// remembered for a later crash loop.
    fn restart(&mut self, app_id: &str) -> Result<ServiceView, HostingError> {
        let view = self.shared.get(app_id).ok_or_else(|| HostingError::NotFound(app_id.to_owned()))?;
        let handle = self.sups.get(&(app_id.to_owned(), view.version.clone()));
        match handle {
            Some(h) if view.status == ServiceStatus::Failed => h.reset(),
            _ => return Err(HostingError::NotFailed { app_id: app_id.to_owned(), status: view.status }),
        }
        Ok(view)
    }

    async fn shutdown(&mut self, events: &mut mpsc::UnboundedReceiver<Event>) {
        self.shared.status.set(PluginStatus::Stopping);
        let handles: Vec<supervise::Handle> = self.sups.drain().map(|(_, h)| h).collect();
        futures_util::future::join_all(handles.iter().map(|h| h.stop())).await;
        while let Ok(ev) = events.try_recv() {
            self.event(ev).await;
        }
        tracing::info!("Every hosted service stopped");
    }

    // --- events ---

    async fn event(&mut self, ev: Event) {
        let Event { app_id, version, what } = ev;
        match what {
            Happened::Status { status, port, pid } => self.status(&app_id, &version, status, port, pid).await,
            Happened::Track(t) => {
                self.record(&app_id, |r| {
                    r.processes.retain(|p| p.version != t.version);
                    r.processes.push(t.clone());
                })
                .await;
            }
            Happened::Exited { exit, restarting } => {
                self.record(&app_id, |r| {
                    r.processes.retain(|p| p.version != exit.version);
                    r.note_exit(exit.clone(), restarting);
                })
                .await;
            }
            Happened::GaveUp { reason } => self.abandon_upgrade(&app_id, &version, reason).await,
            Happened::Stopped => {
                self.record(&app_id, |r| r.processes.retain(|p| p.version != version)).await;
                let key = (app_id.clone(), version.clone());
                if let Some(old) = self.retiring.remove(&key) {
                    self.sups.remove(&key);
                    self.retire(&app_id, &old).await;
                }
            }
        }
    }

    /// A change of the record of `app_id`, if it is still installed (logged when the store fails:
    /// the service runs on, and the next change writes the document again).
    async fn record(&self, app_id: &str, mut change: impl FnMut(&mut ServiceRecord)) {
        let res = self
            .commit(|doc| {
                if let Some(r) = doc.get_mut(app_id) {
                    change(r);
                }
                Ok(())
            })
            .await;
        if let Err(e) = res {
            tracing::warn!(app_id, error = %e, "Cannot record a change of a hosted service");
        }
    }

    async fn status(
        &mut self,
        app_id: &str,
        version: &str,
        status: ServiceStatus,
        port: Option<u16>,
        pid: Option<i32>,
    ) {
        let mut switch = false;
        self.change_live(|live| {
            let Some(l) = live.get_mut(app_id) else { return };
            let target = if l.serving.version == version {
                Some(&mut l.serving)
            } else {
                l.upgrading.as_mut().filter(|u| u.version == version)
            };
            if let Some(t) = target {
                t.status = status;
                t.port = port;
                t.pid = pid;
            }
            // An upgrade's release serves: it becomes the route now.
            if status == ServiceStatus::Running && l.upgrading.as_ref().is_some_and(|u| u.version == version)
            {
                let new = l.upgrading.take().unwrap_or_else(|| Live::starting(version));
                l.serving = new;
                switch = true;
            }
        });
        if switch {
            self.switch(app_id, version).await;
        }
    }

    /// The upgrade's release serves: record it as current, and stop the old one after the drain.
    async fn switch(&mut self, app_id: &str, version: &str) {
        let mut old: Option<Release> = None;
        let now = unix_ms();
        self.record(app_id, |r| {
            if let Some(p) = r.pending.take().filter(|p| p.version == version) {
                old = Some(std::mem::replace(&mut r.current, p));
                r.updated_at_ms = now;
            }
        })
        .await;
        let Some(old) = old else { return };
        tracing::info!(app_id, from = %old.version, to = version, "Hosted service upgraded; stopping the old version after the drain");
        let key = (app_id.to_owned(), old.version.clone());
        // Its Stopped event (from the old supervisor) removes its files then.
        self.retiring.insert(key.clone(), old);
        if let Some(handle) = self.sups.remove(&key) {
            let drain = Config::ms(self.cfg().upgrade_drain_ms);
            actix_rt::spawn(async move {
                tokio::time::sleep(drain).await;
                handle.stop().await;
            });
        }
    }

    /// An upgrade's release never served: forget it, its files and its archive.
    async fn abandon_upgrade(&mut self, app_id: &str, version: &str, reason: String) {
        tracing::warn!(app_id, version, %reason, "Upgrade abandoned; the old version keeps serving");
        self.sups.remove(&(app_id.to_owned(), version.to_owned()));
        self.change_live(|live| {
            if let Some(l) = live.get_mut(app_id) {
                l.upgrading = None;
            }
        });
        let mut dropped: Option<Release> = None;
        let msg = format!("version {version} did not start: {reason}");
        self.record(app_id, |r| {
            if r.pending.as_ref().is_some_and(|p| p.version == version) {
                dropped = r.pending.take();
                r.last_upgrade_error = Some(msg.clone());
            }
        })
        .await;
        if let Some(p) = dropped {
            let _ = std::fs::remove_dir_all(release_dir(&self.cfg().data_dir, app_id, &p));
            let current = self.shared.lock().records.get(app_id).map(|r| r.current.archive.clone());
            if current.as_ref() != Some(&p.archive) {
                self.store.delete_archive(app_id, &p.archive).await;
            }
        }
    }

    /// The files and archive of a release an upgrade replaced.
    async fn retire(&mut self, app_id: &str, old: &Release) {
        let current = self.shared.lock().records.get(app_id).map(|r| r.current.clone());
        if current.as_ref().is_some_and(|c| c.dir_name() == old.dir_name()) {
            return;
        }
        let _ = std::fs::remove_dir_all(release_dir(&self.cfg().data_dir, app_id, old));
        if current.as_ref().map(|c| &c.archive) != Some(&old.archive) {
            self.store.delete_archive(app_id, &old.archive).await;
        }
    }

    fn rotate_logs(&self) {
        let (max, keep) = (self.cfg().log_max_bytes, self.cfg().log_keep);
        let paths: Vec<PathBuf> = {
            let st = self.shared.lock();
            st.records
                .values()
                .flat_map(|r| {
                    [
                        crate::logs::output_path(&self.cfg().data_dir, &r.app_id),
                        release_dir(&self.cfg().data_dir, &r.app_id, &r.current)
                            .join(WORKSPACE)
                            .join("nohup.out"),
                    ]
                })
                .collect()
        };
        for p in paths {
            if let Err(e) = crate::logs::rotate(&p, max, keep) {
                tracing::debug!(path = %p.display(), error = %e, "Cannot rotate an output file");
            }
        }
    }
}

/// What of a noted run still runs: its process group, and its `pid` when that is still the same
/// process (same start time, so a recycled PID is never touched). The group is ours while its
/// leader is the noted start script (same start time), or, once the script is gone, while the
/// group has members: Linux does not give a group's ID to a new process while the group has
/// members (the one case left is a group that emptied, whose ID a new process took and made a
/// group of, and which then exited leaving members).
fn leftover(t: &Tracked) -> (Option<i32>, Option<i32>) {
    let same = procfs::is_same(t.pid, t.start_ticks);
    let pid = same.then_some(t.pid);
    let ours = |g: i32| {
        if same && procfs::pgid(t.pid) == Some(g) {
            return true;
        }
        if t.group_ticks == 0 {
            return false;
        }
        if procfs::alive(g) {
            procfs::start_ticks(g) == Some(t.group_ticks)
        } else {
            !procfs::group_members(g).is_empty()
        }
    };
    let group = Some(t.pgid).filter(|g| *g > 1 && ours(*g));
    (group, pid)
}

/// Moves a staged bundle's folder to `dir` (replacing a leftover of a failed attempt).
fn place(staged: &Staged, dir: &Path) -> Result<(), HostingError> {
    if dir.exists() {
        let _ = std::fs::remove_dir_all(dir);
    }
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| HostingError::internal(format!("mkdir {}: {e}", parent.display())))?;
    }
    std::fs::rename(&staged.root, dir).map_err(|e| {
        HostingError::internal(format!("move {} to {}: {e}", staged.root.display(), dir.display()))
    })
}
