//! Load generation with `oha` (a well-kept HTTP load generator), run pinned to its own core,
//! at a fixed rate (latency percentiles, with coordinated-omission correction) or at saturation
//! (requests per second).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde::Deserialize;

/// One load run's settings.
#[derive(Debug, Clone)]
pub struct Load {
    /// Target URL.
    pub url: String,
    /// Extra request headers (`name: value`).
    pub headers: Vec<String>,
    /// File holding the POST body.
    pub body: PathBuf,
    /// Requests per second, or `None` for as fast as possible.
    pub rate: Option<u32>,
    /// How long to run.
    pub duration: Duration,
    /// Stop after this many requests instead (oha's `-n`; `duration` is then ignored).
    pub requests: Option<u64>,
    /// Concurrent connections.
    pub connections: u32,
    /// Let the requests still in flight when `duration` is up finish (within
    /// [`IN_FLIGHT_LIMIT`] each) and count them, instead of cutting them off.
    pub finish_in_flight: bool,
}

/// How long a request may take when requests in flight are let finish.
pub const IN_FLIGHT_LIMIT: Duration = Duration::from_secs(10);

/// What one run measured (latencies in milliseconds).
#[derive(Debug, Clone, Default)]
pub struct Measured {
    pub rps: f64,
    pub success_rate: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    /// Answers by HTTP status (what a throttled run's 429s are counted from).
    pub statuses: BTreeMap<u16, u64>,
    /// Latencies of the 2xx answers alone.
    pub served: Quantiles,
    /// Latencies of the other answers alone (refusals, in an overload run).
    pub refused: Quantiles,
}

/// Latency percentiles of one kind of answer, in milliseconds (NaN when there were none).
#[derive(Debug, Clone, Copy, Default)]
pub struct Quantiles {
    pub p50: f64,
    pub p99: f64,
}

#[derive(Deserialize)]
struct OhaJson {
    summary: OhaSummary,
    #[serde(rename = "latencyPercentiles")]
    latency: OhaPercentiles,
    /// Requests that got no response, by what went wrong.
    #[serde(rename = "errorDistribution", default)]
    errors: BTreeMap<String, u64>,
    /// Answers by status code (as text keys).
    #[serde(rename = "statusCodeDistribution", default)]
    statuses: BTreeMap<String, u64>,
    /// `--stats-success-breakdown`: percentiles of the 2xx answers, and of the others.
    #[serde(rename = "latencyPercentilesSuccessful", default)]
    successful: Option<BTreeMap<String, Option<f64>>>,
    #[serde(rename = "latencyPercentilesNotSuccessful", default)]
    not_successful: Option<BTreeMap<String, Option<f64>>>,
}

#[derive(Deserialize)]
struct OhaSummary {
    #[serde(rename = "successRate")]
    success_rate: Option<f64>,
    #[serde(rename = "requestsPerSec")]
    requests_per_sec: f64,
}

#[derive(Deserialize)]
struct OhaPercentiles {
    p50: Option<f64>,
    p90: Option<f64>,
    p99: Option<f64>,
    #[serde(rename = "p99.9")]
    p999: Option<f64>,
}

/// Runs `load` with the `oha` binary at `oha`, pinned to `cpus`.
pub fn run(oha: &Path, cpus: &str, load: &Load) -> Result<Measured, String> {
    let mut cmd = Command::new("taskset");
    cmd.args(["-c", cpus]).arg(oha);
    cmd.args(["--no-tui", "--output-format", "json", "--stats-success-breakdown", "-m", "POST", "-D"])
        .arg(&load.body);
    match load.requests {
        Some(n) => cmd.args(["-n", &n.to_string()]),
        None => cmd.args(["-z", &format!("{}ms", load.duration.as_millis())]),
    };
    cmd.args(["-c", &load.connections.to_string()]);
    if let Some(rate) = load.rate {
        cmd.args(["-q", &rate.to_string(), "--latency-correction"]);
    }
    if load.finish_in_flight {
        cmd.args(["--wait-ongoing-requests-after-deadline", "-t"]);
        cmd.arg(format!("{}s", IN_FLIGHT_LIMIT.as_secs()));
    }
    for h in &load.headers {
        cmd.args(["-H", h]);
    }
    cmd.arg(&load.url);
    let out = cmd.output().map_err(|e| format!("run {}: {e}", oha.display()))?;
    if !out.status.success() {
        return Err(format!("oha failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let parsed: OhaJson = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("oha output not understood ({e}): {}", String::from_utf8_lossy(&out.stdout)))?;
    // A success rate below 100% is in the report; what the failures were is only here. Requests
    // still in flight when the run's time is up are not failures.
    let failures: Vec<String> = parsed
        .errors
        .iter()
        .filter(|(what, _)| what.as_str() != "aborted due to deadline")
        .map(|(what, n)| format!("{n} × {what}"))
        .collect();
    if !failures.is_empty() {
        eprintln!("requests without a response at {}: {}", load.url, failures.join("; "));
    }
    let ms = |v: Option<f64>| v.unwrap_or(f64::NAN) * 1e3;
    let quantiles = |of: &Option<BTreeMap<String, Option<f64>>>| {
        let at = |k: &str| ms(of.as_ref().and_then(|m| m.get(k).copied().flatten()));
        Quantiles { p50: at("p50"), p99: at("p99") }
    };
    Ok(Measured {
        rps: parsed.summary.requests_per_sec,
        success_rate: parsed.summary.success_rate.unwrap_or(0.0),
        p50: ms(parsed.latency.p50),
        p90: ms(parsed.latency.p90),
        p99: ms(parsed.latency.p99),
        p999: ms(parsed.latency.p999),
        statuses: parsed.statuses.iter().filter_map(|(k, n)| Some((k.parse().ok()?, *n))).collect(),
        served: quantiles(&parsed.successful),
        refused: quantiles(&parsed.not_successful),
    })
}

/// Every one of `expected` requests answered 200, or an error naming `name` and what came back:
/// a count or a timing is of forwarding only when nothing was refused.
pub fn ok_only(
    name: &str,
    statuses: &std::collections::BTreeMap<u16, u64>,
    expected: u64,
) -> Result<(), String> {
    let ok = statuses.get(&200).copied().unwrap_or(0);
    if ok != expected {
        return Err(format!("{name}: {ok} of {expected} requests answered 200 ({statuses:?})"));
    }
    Ok(())
}

/// The `oha` binary: `$OHA`, one on the PATH, or the one `scripts/test-deps` compiles into
/// `target/tools` (compiling it here would spend a test's time budget on it).
pub fn ensure_oha(workspace: &Path) -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("OHA") {
        return Ok(PathBuf::from(p));
    }
    if Command::new("oha").arg("--version").output().is_ok_and(|o| o.status.success()) {
        return Ok(PathBuf::from("oha"));
    }
    let bin = workspace.join("target").join("tools").join("bin").join("oha");
    if bin.exists() {
        return Ok(bin);
    }
    Err(format!(
        "the load generator oha is missing: run scripts/test-deps (it compiles oha into {}), or set OHA",
        bin.display()
    ))
}
