//! One measured case on a fresh platform: start keel, auth, the plugins' fleet and the registry;
//! register every plugin (timed); wait one poll interval; measure a polling window.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use keel_e2e::{bin_path, free_port, AppSpec, Platform};
use keel_sdk::protocol::{AUTH_APP_ID, CORE_APP_IDS, REGISTRY_APP_ID};

use super::drive::{list, plugins_url, register_all, Listed};
use super::fleet::{Fleet, Setup};
use super::machine::load_average;
use super::report::Figures;
use super::sample::{lifetime_peak_rss, Scope, Usage, Watches};
use super::Kind;

/// What every case shares.
#[derive(Debug, Clone)]
pub struct Case {
    pub plugins: usize,
    pub concurrency: usize,
    pub poll_window: Duration,
    pub interval: Duration,
    /// The soft `ulimit -n`, which sizes the sidecar shards.
    pub nofile: u64,
    pub smoke: bool,
    /// Where each case's platform folder is created.
    pub files: PathBuf,
}

impl Case {
    /// Runs the case for `kind` of registration; everything it started is stopped on return.
    pub async fn run(&self, kind: Kind) -> Result<Figures, String> {
        let plugins = self.plugins;
        let load_before = load_average();
        let client = keel_e2e::client();
        let mut platform = Platform::new_in(&self.files);
        // keel and auth as in production: the registry registers them at boot and pushes every
        // new route table to keel. Their logs are not what is measured.
        platform.start(AppSpec::keel().env("KEEL_LOG", "warn")).await;
        platform.start(AppSpec::bin(AUTH_APP_ID, "auth").env("KEEL_LOG", "warn")).await;
        let fleet = self.fleet(&platform).await?;
        eprintln!("[{kind:?}] {plugins} plugin sidecars ready in {} shard(s)", fleet.shards);

        // Registrations are sent through the registry's own sidecar (caller app-id `plugins`),
        // which may change the registry only with the grant (plugins-manager/README.md).
        let registry = AppSpec::bin(REGISTRY_APP_ID, "plugins-manager")
            .env("KEEL_POLL_INTERVAL_MS", self.interval.as_millis().to_string())
            .env("KEEL_GRANTS__PLUGINS", "register-plugins");
        platform.start(registry).await;
        let sidecar_pid = platform.app(REGISTRY_APP_ID).pid();
        let registry_pid = app_pid(&platform, REGISTRY_APP_ID)?;
        let url = plugins_url(&platform.dapr_url(REGISTRY_APP_ID));
        wait_for_core(&client, &url).await?;

        eprintln!("[{kind:?}] registering {plugins} plugins, {} at once", self.concurrency);
        // auth too: a registration with a secret makes it the plugin's client credentials there.
        let auth_pid = app_pid(&platform, AUTH_APP_ID)?;
        let watch = Watches::start(&[Scope::Tree(registry_pid), Scope::Tree(auth_pid)]);
        let registered =
            register_all(&client, &url, &fleet.ids, self.concurrency, kind == Kind::Secrets).await;
        let usages = watch.finish();
        let (registration, auth_registration) = (usages[0], usages[1]);
        let active_after_registration = count_perf(&list(&client, &url).await?, |p| p.status == "ACTIVE");
        eprintln!(
            "[{kind:?}] registered {} of {plugins} in {:.2} s; settling one poll interval",
            registered.latencies.len(),
            registered.elapsed.as_secs_f64()
        );

        // One interval for the last registrations' work to end, so the window is polling alone
        // (a second in a smoke run, which only shows that the figures come out).
        tokio::time::sleep(if self.smoke { Duration::from_secs(1) } else { self.interval }).await;
        eprintln!("[{kind:?}] measuring {} s of polling", self.poll_window.as_secs());
        let log_start = file_len(&fleet.fake_log);
        let window_start_ms = unix_ms();
        let mut scopes =
            vec![Scope::Tree(registry_pid), Scope::Alone(sidecar_pid), Scope::Tree(fleet.fake_pid())];
        scopes.extend(fleet.shard_pids().into_iter().map(Scope::Tree));
        let watch = Watches::start(&scopes);
        tokio::time::sleep(self.poll_window).await;
        let usages = watch.finish();
        let load_after = load_average();
        let polls_seen = status_polls_since(&fleet.fake_log, log_start);
        let listed = list(&client, &url).await?;
        let heartbeat_failures = fleet.heartbeat_failures();
        let polling_fleet = usages[2..].iter().fold(Usage::default(), |acc, u| Usage {
            seconds: u.seconds,
            cpu_seconds: acc.cpu_seconds + u.cpu_seconds,
            peak_rss: acc.peak_rss + u.peak_rss,
        });
        Ok(Figures {
            kind,
            smoke: self.smoke,
            load_before,
            load_after,
            plugins,
            concurrency: self.concurrency,
            shards: fleet.shards,
            poll_interval_ms: self.interval.as_millis() as u64,
            registered,
            active_after_registration,
            registration,
            auth_registration,
            polling: usages[0],
            polling_sidecar: usages[1],
            polling_fleet,
            polls_seen,
            polled_in_window: count_perf(&listed, |p| p.last_checked_ms >= window_start_ms),
            active_after_polling: count_perf(&listed, |p| p.status == "ACTIVE"),
            lifetime_peak_rss: lifetime_peak_rss(registry_pid),
            heartbeat_failures,
        })
    }

    /// The fake plugin and its sidecars, on `platform`'s store and name registry.
    async fn fleet(&self, platform: &Platform) -> Result<Fleet, String> {
        let dir = platform.dir().join("fleet");
        std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
        let (sidecar_bin, fake_bin) = (bin_path("sidecar"), bin_path("fake-plugin"));
        let (components, registry) = (platform.components_dir(), platform.registry());
        let setup = Setup {
            sidecar_bin: &sidecar_bin,
            fake_bin: &fake_bin,
            dir: &dir,
            components: &components,
            registry: &registry,
            app_port: free_port(),
        };
        // Starting 1,000 sidecars on a busy 2-core machine takes a while.
        let limit = Duration::from_secs(60 + self.plugins as u64 / 5);
        Fleet::start(&setup, self.plugins, self.nofile, limit).await
    }
}

/// The pid of app `id` itself: it runs as its `sidecar run` process's child.
fn app_pid(platform: &Platform, id: &str) -> Result<u32, String> {
    let sidecar = platform.app(id).pid();
    crate::procstat::children(sidecar).into_iter().next().ok_or_else(|| {
        let logs = platform.logs(id);
        let tail = logs.get(logs.len().saturating_sub(3000)..).unwrap_or(&logs).to_owned();
        format!("the {id} process is not running under its sidecar (pid {sidecar}); its output:\n{tail}")
    })
}

/// Waits until the registry has registered the core services at boot, so that work is not timed.
async fn wait_for_core(client: &awc::Client, url: &str) -> Result<(), String> {
    let started = Instant::now();
    let mut last = String::new();
    while started.elapsed() < Duration::from_secs(60) {
        match list(client, url).await {
            Ok(listed) if CORE_APP_IDS.iter().all(|c| listed.iter().any(|p| p.id == *c)) => return Ok(()),
            Ok(listed) => {
                last = format!("registered so far: {:?}", listed.iter().map(|p| &p.id).collect::<Vec<_>>())
            }
            Err(e) => last = e,
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(format!("the registry did not register keel, auth and itself within 60 s ({last})"))
}

fn count_perf(listed: &[Listed], pred: impl Fn(&Listed) -> bool) -> usize {
    listed.iter().filter(|p| p.id.starts_with("perf-") && pred(p)).count()
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// `GET /v1/status` requests logged by the fake plugin after byte `from` of its log.
fn status_polls_since(path: &Path, from: u64) -> usize {
    let text = std::fs::read(path).unwrap_or_default();
    let tail = text.get(usize::try_from(from).unwrap_or(usize::MAX).min(text.len())..).unwrap_or_default();
    String::from_utf8_lossy(tail).matches("method=GET path=/v1/status").count()
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
