//! `keel-bench propagation`: how long a route-table change takes to be in effect on every keel
//! replica when the table is large (issue 17 §5). Two keel replicas (one app-id, one store) boot
//! with a table of `--plugins` entries; each round adds one plugin and then removes it, written
//! as the registry writes a change (the whole table conditionally on its ETag, with its version
//! under `keel-routes-version`, in one transaction) and pushed as the registry pushes it (from a
//! sidecar with the registry's app-id, which reaches ONE replica). The time is taken from just
//! before the write until each replica routes by the new table (the new plugin stops answering
//! 404, or the removed one starts). Prints the rounds and their median and max.
//!
//! `cargo run --release -p bench -- propagation [--plugins 10000] [--rounds 7]`

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use awc::http::Method;
use keel_e2e::{AppSpec, Platform};
use keel_sdk::dapr::headers::DAPR_CALLER_APP_ID;
use keel_sdk::dapr::{DaprClient, SaveItem, TransactionOp};
use keel_sdk::protocol::{
    PluginStatus, RouteEntry, RouteTable, RoutesVersion, REGISTRY_APP_ID, ROUTES_KEY, ROUTES_VERSION_KEY,
    STATE_STORE,
};

use crate::{procstat, routes};

/// The two keel replicas, by their names on the platform.
const REPLICAS: [&str; 2] = ["keel-a", "keel-b"];
/// The caller stamped on requests to the replicas' app ports (a plugin in the table).
const CALLER: &str = "bench-client";
/// How often each replica is asked whether it routes by the new table yet.
const PROBE_EVERY: Duration = Duration::from_millis(5);
/// A round that has not reached every replica by then fails the run.
const ROUND_LIMIT: Duration = Duration::from_secs(30);

/// Settings of the propagation benchmark.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Entries in the route table the replicas hold.
    #[arg(long, default_value_t = 10_000)]
    pub plugins: usize,
    /// Rounds (each one registration-like change and one unregistration-like change).
    #[arg(long, default_value_t = 7)]
    pub rounds: usize,
    /// Where the platform's files live [default: /dev/shm when present].
    #[arg(long)]
    pub tmpdir: Option<PathBuf>,
}

/// Runs the benchmark on its own actix system; the binary's exit code.
pub fn main(args: Args) -> ExitCode {
    match actix_rt::System::new().block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("keel-bench propagation: {e}");
            ExitCode::FAILURE
        }
    }
}

/// One change's timings, from just before its write.
#[derive(Debug, Clone, Copy)]
struct Timed {
    /// The store's answer to the transaction.
    written: Duration,
    /// keel's answer to the push (one replica).
    pushed: Duration,
    /// When each replica routed by the new table, in [`REPLICAS`] order.
    replicas: [Duration; 2],
}

async fn run(args: Args) -> Result<(), String> {
    let shm = PathBuf::from("/dev/shm");
    let files =
        args.tmpdir.clone().or_else(|| shm.is_dir().then_some(shm)).unwrap_or_else(std::env::temp_dir);
    let mut platform = Platform::new_in(&files);
    platform.start(AppSpec::sidecar_only(CALLER)).await;
    platform.start(AppSpec::sidecar_only(REGISTRY_APP_ID)).await;
    let store = platform.dapr(CALLER);
    let mut table = RouteTable { version: 1, ..RouteTable::default() };
    table.plugins.insert(CALLER.to_owned(), RouteEntry::new(PluginStatus::Active, "1.0.0"));
    for i in 0..args.plugins.saturating_sub(1) {
        table.plugins.insert(routes::fake(i), RouteEntry::new(PluginStatus::Active, "1.0.0"));
    }
    let bytes = serde_json::to_vec(&table).map_err(|e| e.to_string())?.len();
    commit(&store, &table).await?;
    for name in REPLICAS {
        platform.start(AppSpec::keel().replica(name).env("KEEL_LOG", "warn")).await;
    }
    let last = routes::fake(args.plugins.saturating_sub(2));
    for name in REPLICAS {
        let at = probe_until(&replica_url(&platform, name, &last), |s| s != 404, Instant::now()).await?;
        eprintln!("{name} routes by the {}-entry table after {at:?}", table.plugins.len());
    }
    let rss: Vec<String> = REPLICAS
        .iter()
        .map(|name| {
            let pid = procstat::children(platform.app(name).pid()).into_iter().next().unwrap_or(0);
            format!("{name} {:.1} MB", procstat::sample_own(pid).rss_bytes as f64 / 1e6)
        })
        .collect();

    let registry = platform.dapr(REGISTRY_APP_ID);
    let (mut added, mut removed) = (Vec::new(), Vec::new());
    for round in 0..args.rounds {
        let id = format!("propagation-{round}");
        table.version += 1;
        table.plugins.insert(id.clone(), RouteEntry::new(PluginStatus::Active, "1.0.0"));
        let t = change(&platform, &store, &registry, &table, &id, |s| s != 404).await?;
        eprintln!("round {round}, added:   {}", describe(&t));
        added.push(t);
        table.version += 1;
        table.plugins.remove(&id);
        let t = change(&platform, &store, &registry, &table, &id, |s| s == 404).await?;
        eprintln!("round {round}, removed: {}", describe(&t));
        removed.push(t);
    }
    println!(
        "{} plugins in the table ({:.2} MB of JSON), {} replicas, {} rounds; keel resident after loading it: {}",
        table.plugins.len(),
        bytes as f64 / 1e6,
        REPLICAS.len(),
        args.rounds,
        rss.join(", ")
    );
    for (what, timed) in [("plugin added", &added), ("plugin removed", &removed)] {
        println!("{what}: {}", summary(timed));
    }
    Ok(())
}

/// Writes `table`, pushes it, and times until every replica sees `plugin` as `routed` says.
async fn change(
    platform: &Platform,
    store: &DaprClient,
    registry: &DaprClient,
    table: &RouteTable,
    plugin: &str,
    routed: fn(u16) -> bool,
) -> Result<Timed, String> {
    let t0 = Instant::now();
    let watchers: Vec<_> = REPLICAS
        .iter()
        .map(|name| {
            let url = replica_url(platform, name, plugin);
            actix_rt::spawn(async move { probe_until(&url, routed, t0).await })
        })
        .collect();
    commit(store, table).await?;
    let written = t0.elapsed();
    let answer = registry
        .invoke(Method::PUT, "keel", "v1/routes", Some(table))
        .await
        .map_err(|e| format!("push the route table to keel: {e}"))?;
    if !answer.status.is_success() {
        return Err(format!("keel refused the pushed route table: HTTP {}", answer.status.as_u16()));
    }
    let pushed = t0.elapsed();
    let mut replicas = [Duration::ZERO; 2];
    for (i, w) in watchers.into_iter().enumerate() {
        replicas[i] = w.await.map_err(|e| e.to_string())??;
    }
    Ok(Timed { written, pushed, replicas })
}

/// Writes `table` as the registry commits a change: the table conditionally on the ETag it has
/// now, and its version under `keel-routes-version`, in one transaction.
async fn commit(store: &DaprClient, table: &RouteTable) -> Result<(), String> {
    let etag =
        store.get_state(STATE_STORE, ROUTES_KEY).await.map_err(|e| e.to_string())?.and_then(|i| i.etag);
    let value = serde_json::to_value(table).map_err(|e| e.to_string())?;
    let version =
        serde_json::to_value(RoutesVersion { version: table.version }).map_err(|e| e.to_string())?;
    let ops = [
        TransactionOp::Upsert(SaveItem::new(ROUTES_KEY, value).first_write(etag)),
        TransactionOp::Upsert(SaveItem::new(ROUTES_VERSION_KEY, version)),
    ];
    store.transact(STATE_STORE, &ops).await.map_err(|e| format!("write the route table: {e}"))
}

/// `GET /<plugin>/x` on replica `name`'s app port (sent with the caller stamp a sidecar adds).
fn replica_url(platform: &Platform, name: &str, plugin: &str) -> String {
    format!("{}/{plugin}/x", platform.app_url(name))
}

/// Asks `url` every [`PROBE_EVERY`] until its status satisfies `routed`; the time since `t0`.
async fn probe_until(url: &str, routed: fn(u16) -> bool, t0: Instant) -> Result<Duration, String> {
    let http = awc::Client::builder().timeout(Duration::from_secs(5)).finish();
    while t0.elapsed() < ROUND_LIMIT {
        if let Ok(res) = http.get(url).insert_header((DAPR_CALLER_APP_ID, CALLER)).send().await {
            if routed(res.status().as_u16()) {
                return Ok(t0.elapsed());
            }
        }
        tokio::time::sleep(PROBE_EVERY).await;
    }
    Err(format!("{url} did not change within {ROUND_LIMIT:?}"))
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1e3)
}

fn describe(t: &Timed) -> String {
    format!(
        "written {}, push answered {}, {} {}, {} {}",
        ms(t.written),
        ms(t.pushed),
        REPLICAS[0],
        ms(t.replicas[0]),
        REPLICAS[1],
        ms(t.replicas[1])
    )
}

/// Median and max of the first replica and of every replica routing by the change.
fn summary(timed: &[Timed]) -> String {
    let first: Vec<Duration> = timed.iter().map(|t| t.replicas[0].min(t.replicas[1])).collect();
    let every: Vec<Duration> = timed.iter().map(|t| t.replicas[0].max(t.replicas[1])).collect();
    let written: Vec<Duration> = timed.iter().map(|t| t.written).collect();
    let stat = |v: &[Duration]| {
        format!("median {}, max {}", ms(median(v)), ms(v.iter().copied().max().unwrap_or_default()))
    };
    format!("store write {}; first replica {}; every replica {}", stat(&written), stat(&first), stat(&every))
}

fn median(values: &[Duration]) -> Duration {
    let mut v = values.to_vec();
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_an_odd_and_an_even_count() {
        let d = Duration::from_millis;
        assert_eq!(median(&[d(3), d(1), d(2)]), d(2));
        assert_eq!(median(&[d(4), d(1), d(3), d(2)]), d(3));
        assert_eq!(median(&[]), Duration::ZERO);
    }
}
