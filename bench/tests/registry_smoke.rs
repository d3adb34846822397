//! The registry benchmark still runs: `keel-bench registry --smoke` (20 plugins, 5 s of polling,
//! plain and with secrets) writes a report stating every figure the full run is judged on, and
//! each figure is a number that makes sense (times, rates and memory above zero, every plugin
//! registered and polled).

use std::process::Command;

/// Plugins in a smoke run.
const PLUGINS: f64 = 20.0;

/// The two cases, by their label in the targets table and their section's heading.
const CASES: [(&str, &str); 2] = [
    ("plain registrations", "## Plain registrations"),
    ("with a client secret each", "## With a client secret each"),
];

#[test]
fn registry_smoke_run_writes_its_figures() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("benchmarks-registry.md");
    let status = Command::new(env!("CARGO_BIN_EXE_keel-bench"))
        .args(["registry", "--smoke", "--out"])
        .arg(&out)
        .status()
        .expect("run keel-bench");
    assert!(status.success(), "keel-bench registry --smoke failed: {status}");
    let report = std::fs::read_to_string(&out).expect("the report was written");
    for (expected, times) in [
        ("| register 20 plugins in < 60 s |", 2),
        ("(20 of 20 registered, 20 ACTIVE)", 2),
        ("% of one core (20 of 20 plugins polled in the window)", 2),
        ("| polling: registry < 50 MB resident |", 2),
        ("Failed: 0.", 2),
        ("## Plain registrations", 1),
        ("## With a client secret each", 1),
        ("-p bench -- registry --smoke", 1),
    ] {
        assert_eq!(report.matches(expected).count(), times, "{expected:?} in:\n{report}");
    }

    for (label, heading) in CASES {
        // The targets table: the time to register, the registry's share of a core while polling
        // (a 5 s window of 20 polls can stay under one 10 ms clock tick, so only a number is
        // required), and its peak resident set.
        let row = |target: &str| -> &str {
            let start = format!("| {target} | {label} | ");
            let line = report.lines().find(|l| l.starts_with(&start));
            &line.unwrap_or_else(|| panic!("no {start:?} row in:\n{report}"))[start.len()..]
        };
        assert!(number_at(row("register 20 plugins in < 60 s"), "") > 0.0, "{label}:\n{report}");
        assert!(
            number_at(row("polling every 5 s: registry < 10% of one core"), "") >= 0.0,
            "{label}:\n{report}"
        );
        assert!(number_at(row("polling: registry < 50 MB resident"), "peak ") > 0.0, "{label}:\n{report}");

        // The case's own section: registration rate and latencies, the registry's CPU and memory
        // while registering, and the polls the fake plugin saw.
        let section = section(&report, heading);
        for label in [" in total, ", "p50 ", "p90 ", "p99 ", "max ", "on average (", "CPU s), peak "] {
            assert!(number_at(section, label) > 0.0, "{heading}: {label:?} not above zero:\n{report}");
        }
        let polls = number_at(section, "Status polls received by the fake plugin: ");
        assert!(polls >= PLUGINS, "{heading}: {polls} polls of {PLUGINS} plugins:\n{report}");
        assert!(number_at(section, "The registry: ") >= 0.0, "{heading}:\n{report}");
    }
}

/// The part of `report` under `heading`, up to the next `## ` heading.
fn section<'a>(report: &'a str, heading: &str) -> &'a str {
    let start = report.find(heading).unwrap_or_else(|| panic!("no {heading:?} in:\n{report}"));
    let rest = &report[start + heading.len()..];
    &rest[..rest.find("\n## ").unwrap_or(rest.len())]
}

/// The finite number right after the first `label` in `text` (`0.26 s`, `161 ms`, `15.5 MB`).
fn number_at(text: &str, label: &str) -> f64 {
    let at = text.find(label).unwrap_or_else(|| panic!("no {label:?} in:\n{text}")) + label.len();
    let rest = &text[at..];
    let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
    let value: f64 = rest[..end]
        .parse()
        .unwrap_or_else(|e| panic!("{label:?} is not followed by a number ({e}) in:\n{text}"));
    assert!(value.is_finite(), "{label:?}: {value} in:\n{text}");
    value
}
