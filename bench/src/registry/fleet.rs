//! The plugins under test: ONE `fake-plugin` process standing behind many sidecars, each with
//! its own app-id (`perf-0001`, ...), so 1,000 registrable plugins cost one app process.
//!
//! Every Dapr app-id needs its own sidecar. The stand-in hosts every sidecar of a run file in one
//! process, but each sidecar holds ~26 file descriptors (API and internal listeners, sqlite
//! handles, one epoll per worker), so 1,000 of them exceed a 20,000 `ulimit -n`: the sidecars
//! are split over several `sidecar run -f` processes ("shards") sized from the soft limit.
//! The fake plugin is started directly (not under a sidecar) so the shards stay identical.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// File descriptors budgeted per sidecar (about 26 measured, plus headroom for connections).
const FDS_PER_SIDECAR: u64 = 40;
/// Descriptors kept aside in every shard for everything else.
const FDS_RESERVED: u64 = 256;
/// At most this many sidecars in one shard, however high the limit: keeps each process modest.
const MAX_PER_SHARD: usize = 250;
/// The lowest `ulimit -n` the run accepts: the registry's sidecar keeps a pooled connection
/// to every plugin's sidecar, and the fake plugin one from each of them.
pub const MIN_NOFILE: u64 = 4096;

/// The app-id of plugin `i` (1-based): `perf-0001`.
pub fn plugin_id(i: usize) -> String {
    format!("perf-{i:04}")
}

/// The fake plugin and the shards of sidecars in front of it. Dropping it kills them all.
pub struct Fleet {
    /// `perf-0001` ... in order.
    pub ids: Vec<String>,
    /// How many `sidecar run` processes host the sidecars.
    pub shards: usize,
    /// The fake plugin's output (one line per request it received).
    pub fake_log: PathBuf,
    fake: Child,
    sidecars: Vec<(Child, PathBuf, PathBuf)>,
}

/// Where the fleet's binaries and shared files are.
pub struct Setup<'a> {
    /// The `sidecar` binary.
    pub sidecar_bin: &'a Path,
    /// The `fake-plugin` binary.
    pub fake_bin: &'a Path,
    /// A folder for run files and logs.
    pub dir: &'a Path,
    /// The components folder every sidecar loads (the shared state store).
    pub components: &'a Path,
    /// The sidecars' shared name registry file.
    pub registry: &'a Path,
    /// A free port for the fake plugin.
    pub app_port: u16,
}

impl Fleet {
    /// Starts the fake plugin and `count` sidecars in front of it, and waits until every
    /// sidecar reports ready (which it does once the fake plugin's port accepts connections).
    pub async fn start(
        setup: &Setup<'_>,
        count: usize,
        nofile: u64,
        limit: Duration,
    ) -> Result<Fleet, String> {
        let fake_log = setup.dir.join("fake-plugin.log");
        let out = File::create(&fake_log).map_err(|e| format!("create {}: {e}", fake_log.display()))?;
        let err = out.try_clone().map_err(|e| format!("dup log: {e}"))?;
        let fake = Command::new(setup.fake_bin)
            .env("APP_PORT", setup.app_port.to_string())
            .env("FAKE_ID_FROM_CALLEE", "1")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("start {}: {e}", setup.fake_bin.display()))?;
        let ids: Vec<String> = (1..=count).map(plugin_id).collect();
        let mut fleet = Fleet { ids, shards: 0, fake_log, fake, sidecars: Vec::new() };
        let per_shard = shard_size(nofile);
        for (n, chunk) in fleet.ids.clone().chunks(per_shard).enumerate() {
            let shard = start_shard(setup, n, chunk)?;
            fleet.sidecars.push(shard);
        }
        fleet.shards = fleet.sidecars.len();
        fleet.wait_ready(limit).await?;
        Ok(fleet)
    }

    /// Waits until every shard printed one readiness line per sidecar; fails early if a shard
    /// exits (its error output is quoted).
    async fn wait_ready(&mut self, limit: Duration) -> Result<(), String> {
        let started = Instant::now();
        loop {
            let mut ready = 0;
            for (child, out, err) in &mut self.sidecars {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(format!("a sidecar shard exited ({status}): {}", tail(err)));
                }
                ready += fs::read_to_string(&*out).unwrap_or_default().matches("sidecar ready").count();
            }
            if ready >= self.ids.len() {
                return Ok(());
            }
            if started.elapsed() > limit {
                return Err(format!("only {ready} of {} sidecars ready after {limit:?}", self.ids.len()));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The fake plugin's pid.
    pub fn fake_pid(&self) -> u32 {
        self.fake.id()
    }

    /// The pids of the `sidecar run` shards.
    pub fn shard_pids(&self) -> Vec<u32> {
        self.sidecars.iter().map(|(c, _, _)| c.id()).collect()
    }

    /// Heartbeats into the shared name registry that failed so far. A sidecar whose heartbeats
    /// fail for 6 s is no longer found ("no host found with the given ID"): the stand-in's
    /// limit, not the registry's, and worth seeing next to any registration failure.
    pub fn heartbeat_failures(&self) -> usize {
        self.sidecars
            .iter()
            .map(|(_, _, err)| {
                fs::read_to_string(err).unwrap_or_default().matches("heartbeat failed").count()
            })
            .sum()
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        // The shards host no apps, so killing each process leaves nothing behind.
        for (child, _, _) in &mut self.sidecars {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = self.fake.kill();
        let _ = self.fake.wait();
    }
}

/// Sidecars per shard for a soft `ulimit -n` of `nofile`.
pub fn shard_size(nofile: u64) -> usize {
    let fit = nofile.saturating_sub(FDS_RESERVED) / FDS_PER_SIDECAR;
    usize::try_from(fit).unwrap_or(MAX_PER_SHARD).clamp(1, MAX_PER_SHARD)
}

/// A run file with one sidecar per id, all pointing at the fake plugin's port, no commands.
pub fn run_file(ids: &[String], components: &Path, app_port: u16) -> String {
    let mut yaml = format!("version: 1\ncommon:\n  resourcesPaths:\n  - {:?}\napps:\n", components.display());
    for id in ids {
        yaml.push_str(&format!("- appID: {id}\n  appDirPath: .\n  appPort: {app_port}\n"));
    }
    yaml
}

fn start_shard(setup: &Setup<'_>, n: usize, ids: &[String]) -> Result<(Child, PathBuf, PathBuf), String> {
    let file = setup.dir.join(format!("shard-{n}.yaml"));
    fs::write(&file, run_file(ids, setup.components, setup.app_port))
        .map_err(|e| format!("write {}: {e}", file.display()))?;
    let (out_path, err_path) =
        (setup.dir.join(format!("shard-{n}.out")), setup.dir.join(format!("shard-{n}.err")));
    let out = File::create(&out_path).map_err(|e| format!("create {}: {e}", out_path.display()))?;
    let err = File::create(&err_path).map_err(|e| format!("create {}: {e}", err_path.display()))?;
    let child = Command::new(setup.sidecar_bin)
        .args(["run", "--log-level", "warn", "-f"])
        .arg(&file)
        .env("SIDECAR_REGISTRY", setup.registry)
        .current_dir(setup.dir)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("start {}: {e}", setup.sidecar_bin.display()))?;
    Ok((child, out_path, err_path))
}

fn tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let start = text.len().saturating_sub(2000);
    text.get(start..).unwrap_or(&text).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_fit_the_descriptor_limit() {
        assert_eq!(shard_size(20_000), 250);
        assert_eq!(shard_size(4096), 96);
        assert_eq!(shard_size(0), 1);
    }

    #[test]
    fn run_file_lists_every_sidecar_on_the_one_app_port() {
        let yaml = run_file(&[plugin_id(1), plugin_id(2)], Path::new("/tmp/c"), 4000);
        assert!(yaml.starts_with("version: 1\n"));
        assert_eq!(yaml.matches("appPort: 4000").count(), 2);
        assert!(yaml.contains("- appID: perf-0002\n"));
        assert!(yaml.contains("\"/tmp/c\""));
    }
}
