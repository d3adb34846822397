//! `keelctl plugin check <app-id | http://host:port>`: runs the plugin protocol
//! (`platform.md` §2) against a plugin before anyone registers it, the way the registry will,
//! and reports each deviation with its severity and the fix.
//!
//! One module per protocol area, each a pure judgement of the answers it got ([`Probe`] makes
//! the calls, each with a time limit):
//! - [`identify`]: `GET /v1/identify`, shape and values, validated by the same code the registry
//!   uses (`keel_sdk::protocol::Identify::validate`), plus what the registry tolerates but an
//!   author should know (aliases, misspelt fields, a missing `keel_version`);
//! - [`addons`]: `POST /v1/addons/identify` with a synthetic implementer, when the plugin offers
//!   points;
//! - [`status`]: `GET /v1/status`, its values and answer times;
//! - [`robustness`]: an unknown path (the error envelope) and a large body, then whether the
//!   plugin still answers.
//!
//! Errors are what makes registration or routing fail; warnings are what the platform tolerates
//! but an author should fix. The exit code is 0 when no errors were found (and no warnings, with
//! `--strict`), [`crate::error::exit::CHECK_FAILED`] otherwise.

mod addons;
mod answer;
mod identify;
mod probe;
pub mod report;
mod robustness;
mod status;

use std::time::Duration;

use keel_sdk::protocol::PluginId;
use serde::Serialize;

use crate::args::Output;
use crate::error::CliError;

pub use probe::{Probe, Target};

/// The registry's default time limit for `/v1/identify` (`identify_timeout_ms`).
pub const IDENTIFY_LIMIT: Duration = Duration::from_millis(5_000);
/// The registry's default time limit for `/v1/addons/identify` (`addons_identify_timeout_ms`).
pub const ADDONS_LIMIT: Duration = Duration::from_millis(5_000);
/// The registry's default time limit for a status poll (`poll_timeout_ms`).
pub const STATUS_LIMIT: Duration = Duration::from_millis(2_000);
/// How long the checker waits for the answers of its robustness probes.
pub const PROBE_LIMIT: Duration = Duration::from_millis(5_000);

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The platform tolerates it, but the author should fix it.
    Warning,
    /// Registration, polling or routing fails because of it.
    Error,
}

/// One deviation from the protocol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// How bad it is.
    pub severity: Severity,
    /// A stable name, `<area>.<what>` (e.g. `identify.id-mismatch`), for scripts.
    pub check: &'static str,
    /// What was seen.
    pub message: String,
    /// What to change.
    pub fix: String,
}

/// What a check area measured when it could (shown as `ok` lines).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Checked {
    /// The area: `identify`, `addons`, `status`, `errors`.
    pub area: &'static str,
    /// What it saw, e.g. `echo 1.0.0, needs keel 1.0 (3 ms)`.
    pub summary: String,
}

/// Findings as they are collected.
#[derive(Debug, Default)]
pub struct Findings(Vec<Finding>);

/// The whole result, as `--output json` prints it.
#[derive(Debug, Serialize)]
pub struct Report {
    /// What was checked, as given.
    pub target: String,
    /// How it was reached.
    pub via: String,
    /// What each area measured.
    pub checked: Vec<Checked>,
    /// Every deviation, errors first.
    pub findings: Vec<Finding>,
    /// How many errors.
    pub errors: usize,
    /// How many warnings.
    pub warnings: usize,
}

/// What `plugin check` was asked.
pub struct Options {
    /// The app-id or URL.
    pub target: Target,
    /// The app-id the plugin must report (the target's, or `--app-id` with a URL).
    pub app_id: Option<String>,
    /// Warnings fail too.
    pub strict: bool,
}

// === impl Findings ===

impl Findings {
    /// Adds an error.
    pub fn error(&mut self, check: &'static str, message: impl Into<String>, fix: impl Into<String>) {
        self.push(Severity::Error, check, message, fix);
    }

    /// Adds a warning.
    pub fn warn(&mut self, check: &'static str, message: impl Into<String>, fix: impl Into<String>) {
        self.push(Severity::Warning, check, message, fix);
    }

    fn push(
        &mut self,
        severity: Severity,
        check: &'static str,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        // Repeated calls (three status polls) report a defect once.
        if self.0.iter().any(|f| f.check == check) {
            return;
        }
        self.0.push(Finding { severity, check, message: message.into(), fix: fix.into() });
    }

    /// The findings so far.
    pub fn all(&self) -> &[Finding] {
        &self.0
    }
}

/// Parses the target: a URL when it has a scheme, an app-id otherwise.
pub fn parse_target(s: &str) -> Result<Target, CliError> {
    if s.contains("://") {
        let url = url::Url::parse(s).map_err(|e| CliError::Usage(format!("{s:?} is not a URL: {e}")))?;
        // A plugin's app port speaks plain HTTP to its sidecar (and keelctl has no TLS client).
        if url.scheme() != "http" || url.host_str().is_none_or(str::is_empty) {
            return Err(CliError::Usage(format!(
                "{s:?}: give the plugin's app URL as http://host:port, or its app-id"
            )));
        }
        return Ok(Target::Url(url.as_str().trim_end_matches('/').to_owned()));
    }
    PluginId::parse(s).map_err(|e| {
        CliError::Usage(format!("{e}; give the plugin's app-id, or its app URL as http://host:port"))
    })?;
    Ok(Target::AppId(s.to_owned()))
}

/// Runs every check against `opts.target`, prints the report, and fails with
/// [`CliError::CheckFailed`] when it found errors (or warnings, with `--strict`).
pub async fn run(opts: Options, format: Output, app_token: Option<String>) -> Result<(), CliError> {
    let probe = Probe::new(&opts.target, app_token);
    let report = check(&probe, opts.app_id.as_deref()).await;
    report::print(format, &report);
    let failed = report.errors > 0 || (opts.strict && report.warnings > 0);
    if failed {
        return Err(CliError::CheckFailed { errors: report.errors, warnings: report.warnings });
    }
    Ok(())
}

/// The checks, in the order the registry meets the plugin: identify, addons identify (when
/// identify is valid and offers points), status, then the robustness probes. When identify got
/// no connection at all, nothing else would either: the report stops there.
pub async fn check(probe: &Probe, app_id: Option<&str>) -> Report {
    let mut findings = Findings::default();
    let mut checked = Vec::new();
    let valid = identify::check(probe, app_id, &mut findings, &mut checked).await;
    if let Some(valid) = &valid {
        addons::check(probe, valid, &mut findings, &mut checked).await;
    }
    let unreachable = findings.all().iter().any(|f| f.check == "identify.unreachable");
    if !unreachable {
        status::check(probe, &mut findings, &mut checked).await;
        robustness::check(probe, &mut findings, &mut checked).await;
    }
    let mut all = findings.0;
    all.sort_by_key(|f| std::cmp::Reverse(f.severity));
    let errors = all.iter().filter(|f| f.severity == Severity::Error).count();
    Report {
        target: probe.target().to_owned(),
        via: probe.via(),
        checked,
        warnings: all.len() - errors,
        errors,
        findings: all,
    }
}

/// `ms` of a duration, for summaries.
fn ms(d: Duration) -> u128 {
    d.as_millis()
}

#[cfg(test)]
mod tests;
