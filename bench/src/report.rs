//! The markdown written to `docs/benchmarks.md`.

use std::fmt::Write;

use crate::load::Measured;
use crate::paired::Round;

/// One measured cell of the report.
#[derive(Debug, Clone)]
pub struct Row {
    /// Which path (direct, sidecar hop, ...).
    pub path: String,
    /// Body size label.
    pub body: String,
    /// Registered plugins.
    pub plugins: usize,
    /// `Some(rate)` for fixed-rate runs, `None` for saturation.
    pub rate: Option<u32>,
    /// What was measured.
    pub measured: Measured,
}

/// A path or comparison the run could not measure, and why; printed where its figures would be.
#[derive(Debug, Clone)]
pub struct NotMeasured {
    /// The path's or the comparison's name.
    pub name: String,
    /// The table it belongs to: a path's `(body, plugins)` group, or `None` for a comparison of
    /// the interleaved rounds.
    pub group: Option<(String, usize)>,
    /// Why, e.g. "nginx not found".
    pub reason: String,
}

impl NotMeasured {
    /// What the report prints in place of the figures.
    pub fn text(&self) -> String {
        not_measured(&self.reason)
    }
}

/// `not measured (<reason>)`, the report's words for a figure it has not got (on one line, with
/// no `|` to break the table it is in).
pub fn utc_now() -> String {
    std::process::Command::new("date")
        .arg("-u")
        .arg("+%Y-%m-%d %H:%M UTC")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

pub fn not_measured(reason: &str) -> String {
    let reason = reason.split_whitespace().collect::<Vec<_>>().join(" ").replace('|', "/");
    format!("not measured ({reason})")
}

/// Resource use of a measured process during one run.
#[derive(Debug, Clone)]
pub struct Resources {
    pub run: String,
    pub process: String,
    /// CPU cores used on average (1.0 = one core busy).
    pub cpu_cores: f64,
    pub peak_rss_mb: f64,
}

/// A target from the issues and whether it was met.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub target: String,
    pub measured: String,
    pub met: Option<bool>,
}

/// The hand-written section after the figures: kept when the report is rewritten, so the
/// reading of the numbers survives a new run (and is updated by whoever reads the new ones).
pub const NOTES_HEADING: &str = "## Reading the figures";

/// The notes section of a previous report, from its heading to the end.
pub fn kept_notes(previous: &str) -> Option<&str> {
    previous.find(NOTES_HEADING).map(|at| &previous[at..])
}

/// A latency in milliseconds as the report prints it (`-` when there is none).
pub fn ms(v: f64) -> String {
    if v.is_nan() {
        "-".into()
    } else {
        format!("{v:.3}")
    }
}

/// Renders the whole document.
pub fn render(
    header: &str,
    rows: &[Row],
    missing: &[NotMeasured],
    resources: &[Resources],
    rounds: &[Round],
    sections: &str,
    verdicts: &[Verdict],
) -> String {
    let mut out = String::from(header);
    let mut groups: Vec<(String, usize)> = rows.iter().map(|r| (r.body.clone(), r.plugins)).collect();
    groups.dedup();
    for (body, plugins) in groups {
        let _ = writeln!(out, "\n### {body} bodies, {plugins} registered plugin(s)\n");
        out.push_str("| path | load | achieved req/s | ok | p50 ms | p90 ms | p99 ms | p99.9 ms |\n");
        out.push_str("|---|---|---:|---:|---:|---:|---:|---:|\n");
        for r in rows.iter().filter(|r| r.body == body && r.plugins == plugins) {
            let load = r.rate.map(|q| format!("{q} req/s")).unwrap_or_else(|| "saturation".into());
            let m = &r.measured;
            let _ = writeln!(
                out,
                "| {} | {load} | {:.0} | {:.1}% | {} | {} | {} | {} |",
                r.path,
                m.rps,
                m.success_rate * 100.0,
                ms(m.p50),
                ms(m.p90),
                ms(m.p99),
                ms(m.p999)
            );
        }
        for n in missing.iter().filter(|n| n.group.as_ref().is_some_and(|g| *g == (body.clone(), plugins))) {
            let _ = writeln!(out, "| {} | {} | - | - | - | - | - | - |", n.name, n.text());
        }
    }
    let missing_rounds: Vec<&NotMeasured> = missing.iter().filter(|n| n.group.is_none()).collect();
    if !rounds.is_empty() || !missing_rounds.is_empty() {
        out.push_str("\n### Interleaved rounds (what the router's targets are judged on)\n\n");
        out.push_str("| comparison | round | load | reference | req/s | p50 ms | p90 ms | p99 ms | keel path | req/s | p50 ms | p90 ms | p99 ms |\n");
        out.push_str("|---|---:|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|\n");
        for r in rounds {
            let c = &r.comparison;
            let load = c.rate.map(|q| format!("{q} req/s")).unwrap_or_else(|| "saturation".into());
            let _ = writeln!(
                out,
                "| {} | {} | {load} | {} | {:.0} | {} | {} | {} | {} | {:.0} | {} | {} | {} |",
                c.name,
                r.index + 1,
                c.reference,
                r.reference.rps,
                ms(r.reference.p50),
                ms(r.reference.p90),
                ms(r.reference.p99),
                c.keel,
                r.keel.rps,
                ms(r.keel.p50),
                ms(r.keel.p90),
                ms(r.keel.p99)
            );
        }
        for n in missing_rounds {
            let _ =
                writeln!(out, "| {} | - | {} | - | - | - | - | - | - | - | - | - | - |", n.name, n.text());
        }
    }
    if !resources.is_empty() {
        out.push_str("\n### Resources of the measured processes\n\n| run | process | CPU (cores) | peak RSS MB |\n|---|---|---:|---:|\n");
        for r in resources {
            let _ =
                writeln!(out, "| {} | {} | {:.2} | {:.1} |", r.run, r.process, r.cpu_cores, r.peak_rss_mb);
        }
    }
    // Sections of their own (e.g. the overload runs), before the targets judged on them.
    out.push_str(sections);
    out.push_str("\n## Targets\n\n| target | measured | met |\n|---|---|---|\n");
    for v in verdicts {
        let met = match v.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "-",
        };
        let _ = writeln!(out, "| {} | {} | {met} |", v.target, v.measured);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_after_the_figures_are_kept() {
        let old = "# Benchmarks\n\n| a |\n\n## Reading the figures\n\n- why.\n";
        assert_eq!(kept_notes(old), Some("## Reading the figures\n\n- why.\n"));
        assert_eq!(kept_notes("# Benchmarks\n"), None);
    }

    #[test]
    fn what_was_not_measured_is_said_in_its_table() {
        let row = Row {
            path: "direct".into(),
            body: "1 KiB".into(),
            plugins: 1,
            rate: None,
            measured: Measured {
                rps: 10.0,
                success_rate: 1.0,
                p50: 1.0,
                p90: 1.0,
                p99: 1.0,
                p999: 1.0,
                ..Measured::default()
            },
        };
        let missing = [
            NotMeasured {
                name: "nginx".into(),
                group: Some(("1 KiB".into(), 1)),
                reason: "nginx not found".into(),
            },
            NotMeasured { name: "vs nginx".into(), group: None, reason: "nginx not found".into() },
        ];
        let doc = render("# B\n", &[row], &missing, &[], &[], "", &[]);
        let path_table = doc.find("| direct | saturation |").unwrap();
        let nginx = doc.find("| nginx | not measured (nginx not found) | - |").unwrap();
        let rounds = doc.find("### Interleaved rounds").unwrap();
        assert!(path_table < nginx && nginx < rounds, "{doc}");
        assert!(doc.contains("| vs nginx | - | not measured (nginx not found) |"), "{doc}");
    }
}
