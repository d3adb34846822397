//! keel under overload (issue 19): a plugin that serves at most [`CAPACITY`] requests at once,
//! [`WORK_MS`] each (router-upstream's `/work/<ms>`), behind keel with its per-plugin limit set
//! to that capacity, as an operator sets Envoy's `max_requests` to what an upstream can take.
//! Measured at keel's app port (the caller's `dapr-caller-app-id` stamped, as its sidecar would),
//! like keel's own hop: through the caller's sidecar as well, a refusal also waits for two more
//! processes on the shared core (tried: 6 ms at p50 and 67 ms at p99 with no queue wait at all),
//! which is the stand-in's scheduling, not keel's shedding. Pinned like the router's paths:
//!
//! 1. saturation: as many connections as the plugin has slots, as fast as they go (nothing
//!    is refused): the rate the plugin sustains and its p99;
//! 2. twice that rate, with connections to spare: keel serves what the plugin can take and
//!    refuses the rest with 503 `ERR_OVERLOADED`; served and refused answers are measured apart
//!    (oha's `--stats-success-breakdown`);
//!
//! in rounds (1 then 2, back to back), judged on the median of the rounds as the router's
//! targets are, since one stall of the shared core decides a single run's p99; then once, for
//! context, the same overload through a keel whose limits are out of reach: what happens without
//! shedding (requests queue in front of the plugin).

use std::fmt::Write;
use std::path::Path;
use std::time::Duration;

use keel_e2e::{AppSpec, Platform};
use keel_sdk::dapr::headers::DAPR_CALLER_APP_ID;
use keel_sdk::dapr::SaveItem;
use keel_sdk::protocol::{RouteTable, ROUTES_KEY, STATE_STORE};

use crate::load::{self, Load, Measured};
use crate::paired::median;
use crate::report::{ms, Verdict};
use crate::{procstat, routes};

/// Requests the plugin serves at once.
pub const CAPACITY: usize = 8;
/// How long each takes.
pub const WORK_MS: u64 = 10;
/// The plugin's app-id and the caller's.
const PLUGIN: &str = "work";
const CALLER: &str = "overload-client";
/// Connections of the overload runs: far more than the plugin's slots, so oha never waits.
const SPARE_CONNECTIONS: u32 = 64;

/// One run of the section.
pub struct Run {
    /// What it is.
    pub name: &'static str,
    /// Its round (from 1; `None`: the context run).
    pub round: Option<usize>,
    /// The rate asked for (`None`: saturation).
    pub offered: Option<u32>,
    /// What was measured.
    pub measured: Measured,
}

/// The whole measurement.
pub struct Figures {
    pub runs: Vec<Run>,
}

const SATURATION: &str = "keel, per-plugin limit 8: saturation (8 connections)";
const SHED: &str = "keel, per-plugin limit 8: twice the saturation rate";
const UNSHED: &str = "keel without limits (context): twice the saturation rate";

/// Runs the loads of the module's description, `seconds` each, `rounds` rounds, with `oha`
/// pinned to `load_cpus` and the platform to `measured_cpus`.
pub async fn measure(
    oha: &Path,
    load_cpus: &str,
    measured_cpus: &str,
    seconds: u64,
    rounds: usize,
) -> Result<Figures, String> {
    let mut p = Platform::new();
    p.start(AppSpec::sidecar_only(CALLER)).await;
    seed(&p).await?;
    p.start(AppSpec::bin(PLUGIN, "router-upstream").env("UPSTREAM_CAPACITY", CAPACITY.to_string())).await;
    let limited = CAPACITY.to_string();
    start_keel(&mut p, &limited, measured_cpus).await;
    let body = p.dir().join("body-1k");
    std::fs::write(&body, vec![b'k'; 1024]).map_err(|e| format!("write body: {e}"))?;
    // keel's app port, which a restarted keel gets anew.
    let url = |p: &Platform| format!("{}/{PLUGIN}/work/{WORK_MS}", p.app_url("keel"));
    let load = |url: String, rate: Option<u32>, connections: u32| Load {
        url,
        headers: vec![format!("{DAPR_CALLER_APP_ID}: {CALLER}")],
        body: body.clone(),
        rate,
        duration: Duration::from_secs(seconds),
        requests: None,
        connections,
        finish_in_flight: true,
    };

    let mut runs = Vec::new();
    let mut twice = 0;
    for round in 1..=rounds.max(1) {
        let saturation = load::run(oha, load_cpus, &load(url(&p), None, CAPACITY as u32))?;
        eprintln!(
            "{SATURATION}, round {round}: {:.0} req/s, p99 {:.3} ms",
            saturation.rps, saturation.served.p99
        );
        twice = (2.0 * saturation.rps).round().max(2.0) as u32;
        let shed = load::run(oha, load_cpus, &load(url(&p), Some(twice), SPARE_CONNECTIONS))?;
        eprintln!(
            "{SHED}, round {round} ({twice} req/s): served p99 {:.3} ms, refused p99 {:.3} ms",
            shed.served.p99, shed.refused.p99
        );
        runs.push(Run { name: SATURATION, round: Some(round), offered: None, measured: saturation });
        runs.push(Run { name: SHED, round: Some(round), offered: Some(twice), measured: shed });
    }
    // The same platform with a keel that never sheds.
    p.stop("keel");
    start_keel(&mut p, "1000000", measured_cpus).await;
    let unshed = load::run(oha, load_cpus, &load(url(&p), Some(twice), SPARE_CONNECTIONS))?;
    eprintln!("{UNSHED}: served p99 {:.3} ms", unshed.served.p99);
    runs.push(Run { name: UNSHED, round: None, offered: Some(twice), measured: unshed });
    Ok(Figures { runs })
}

/// Starts keel with `per_plugin` as its per-plugin limit, and pins the platform.
async fn start_keel(p: &mut Platform, per_plugin: &str, cpus: &str) {
    p.start(
        AppSpec::keel()
            .env("KEEL_LOG", "warn")
            .env("KEEL_MAX_IN_FLIGHT_PER_PLUGIN", per_plugin)
            .env("KEEL_MAX_IN_FLIGHT", "1000000"),
    )
    .await;
    for id in [CALLER, PLUGIN, "keel"] {
        procstat::pin_tree(p.app(id).pid(), cpus);
    }
}

/// The route table: the plugin and the caller, written where the registry keeps it.
async fn seed(p: &Platform) -> Result<(), String> {
    let plugins =
        [(PLUGIN.to_owned(), routes::entry()), (CALLER.to_owned(), routes::entry())].into_iter().collect();
    let table = RouteTable { version: 1, plugins, ..RouteTable::default() };
    let value = serde_json::to_value(&table).map_err(|e| e.to_string())?;
    p.dapr(CALLER)
        .save_state(STATE_STORE, &[SaveItem::new(ROUTES_KEY, value)])
        .await
        .map_err(|e| e.to_string())
}

fn count(m: &Measured, served: bool) -> u64 {
    m.statuses.iter().filter(|(s, _)| (200..300).contains(*s) == served).map(|(_, n)| n).sum()
}

/// The section of the report.
pub fn render(f: &Figures) -> String {
    let mut out = format!(
        "\n### Overload: a plugin serving {CAPACITY} requests at once, {WORK_MS} ms each (keel at its app port, 1 KiB)\n\n"
    );
    out.push_str("| run | round | load | achieved req/s | served | served p50 ms | served p99 ms | refused | refused p50 ms | refused p99 ms |\n");
    out.push_str("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for r in &f.runs {
        let m = &r.measured;
        let load = r.offered.map(|q| format!("{q} req/s")).unwrap_or_else(|| "saturation".into());
        let round = r.round.map(|n| n.to_string()).unwrap_or_else(|| "-".into());
        let _ = writeln!(
            out,
            "| {} | {round} | {load} | {:.0} | {} | {} | {} | {} | {} | {} |",
            r.name,
            m.rps,
            count(m, true),
            ms(m.served.p50),
            ms(m.served.p99),
            count(m, false),
            ms(m.refused.p50),
            ms(m.refused.p99)
        );
    }
    out
}

/// The overload targets of issue 19 against the figures: the median of the rounds.
pub fn verdicts(f: &Figures) -> Vec<Verdict> {
    let of = |name: &str, round: usize| {
        f.runs.iter().find(|r| r.name == name && r.round == Some(round)).map(|r| &r.measured)
    };
    let rounds: Vec<(&Measured, &Measured)> =
        (1..).map_while(|n| of(SATURATION, n).zip(of(SHED, n))).collect();
    let ratios: Vec<f64> = rounds.iter().map(|(s, o)| o.served.p99 / s.served.p99).collect();
    // A round without refusals did not overload keel: it counts as a miss.
    let refused: Vec<f64> =
        rounds.iter().map(|(_, o)| if count(o, false) > 0 { o.refused.p99 } else { f64::INFINITY }).collect();
    let listed = |values: &[f64], f: &dyn Fn(f64) -> String| {
        values.iter().map(|&v| f(v)).collect::<Vec<_>>().join(", ")
    };
    let ratio = median(&ratios);
    let refusal = median(&refused);
    vec![
        Verdict {
            target: "at twice the saturation rate, served requests' p99 ≤ 5× their p99 at saturation (plugin of 8 × 10 ms, per-plugin limit 8; median of the rounds)".into(),
            measured: ratio
                .map(|m| format!("{m:.1}× (rounds: {})", listed(&ratios, &|r| format!("{r:.1}×"))))
                .unwrap_or_else(|| "-".into()),
            met: ratio.map(|m| m <= 5.0),
        },
        Verdict {
            target: "at twice the saturation rate, the rest refused within 10 ms (p99 of the refusals; median of the rounds)".into(),
            measured: refusal
                .map(|m| format!("{} ms (rounds: {})", ms(m), listed(&refused, &|r| ms(r))))
                .unwrap_or_else(|| "-".into()),
            met: refusal.map(|m| m <= 10.0),
        },
    ]
}
