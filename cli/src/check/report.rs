//! Printing a check's [`Report`]: `ok` lines and findings with their fix for people, the report
//! as JSON for CI.

use std::fmt::Write;

use super::{Report, Severity};
use crate::args::Output;
use crate::output;

/// Prints `report` on standard output.
pub fn print(format: Output, report: &Report) {
    match format {
        Output::Json => output::json(report),
        Output::Table => print!("{}", text(report)),
    }
}

/// The report for people.
pub fn text(report: &Report) -> String {
    let mut out = format!("checking {} ({})\n", report.target, report.via);
    // `ok` for an area without findings; `seen` for what was measured where something is wrong.
    for c in &report.checked {
        let prefix = format!("{}.", c.area);
        let label = if report.findings.iter().any(|f| f.check.starts_with(&prefix)) { "seen" } else { "ok" };
        let _ = writeln!(out, "  {label:<7}  {}: {}", c.area, c.summary);
    }
    for f in &report.findings {
        let label = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let _ = writeln!(out, "  {label:<7}  {}: {}", f.check, f.message);
        let _ = writeln!(out, "           fix: {}", f.fix);
    }
    let verdict = if report.errors == 0 {
        "registration would accept it"
    } else {
        "fix the errors before registering it"
    };
    let _ = writeln!(
        out,
        "{}, {}: {verdict}",
        plural(report.errors, "error"),
        plural(report.warnings, "warning")
    );
    out
}

/// `1 error`, `2 errors`.
pub fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}
