//! The benchmark's smoke mode runs in the test suite, so the benchmark never rots: every path is
//! set up and measured for a second at a tiny rate, every figure in the report is a number that
//! makes sense (throughput and latencies above zero), and the report names every target. Without
//! nginx on the machine its rows say "not measured (nginx not found)" and everything else is
//! still checked.

use std::process::Command;

/// The paths measured on any machine.
const PATHS: [&str; 7] = [
    "direct",
    "one sidecar hop",
    "two sidecars",
    "keel internal",
    "keel at its app port",
    "keel external",
    "keel external, public endpoint",
];

/// nginx's paths, measured when nginx is installed.
const NGINX_PATHS: [&str; 2] = ["nginx", "nginx in keel's seat"];

/// What the report says in place of nginx's figures when it is not installed.
const NGINX_NOT_FOUND: &str = "not measured (nginx not found)";

/// The loads of a smoke run: one fixed rate, then saturation.
const LOADS: [&str; 2] = ["200 req/s", "saturation"];

#[test]
fn the_benchmark_measures_every_path_and_reports_every_target() {
    let nginx = Command::new("nginx").arg("-v").output().is_ok_and(|o| o.status.success());
    let (report, stderr) = smoke_report();
    let tables = tables(&report);
    // What a failure prints: the report, then the run's own lines (with any failed requests).
    let ctx = format!("{report}\n--- keel-bench's stderr ---\n{stderr}");

    // Every path at every load, each row's figures numbers above zero.
    let paths = table(&tables, "### 1 KiB bodies, 1 registered plugin(s)", &ctx);
    for path in PATHS {
        assert_measured(paths, path, &ctx);
    }
    for path in NGINX_PATHS {
        if nginx {
            assert_measured(paths, path, &ctx);
        } else {
            let row = paths.rows.iter().find(|r| r[0] == path);
            let row = row.unwrap_or_else(|| panic!("no {path} row:\n{ctx}"));
            assert_eq!(row[1], NGINX_NOT_FOUND, "{ctx}");
        }
    }
    assert_eq!(paths.rows.len(), PATHS.len() * LOADS.len() + NGINX_PATHS.len() * if nginx { 2 } else { 1 });
    let grant =
        table_row(&tables, "### form bodies, 0 registered plugin(s)", "auth password grant", "20 req/s");
    let grant = grant.unwrap_or_else(|| panic!("password grant not measured:\n{ctx}"));
    all_positive(grant, 2..8, &ctx);
    // A guessing attack: the rate one client really tries passwords at, and a normal login then.
    for (path, load) in [
        ("auth password guessing, one client (tries/s)", "saturation"),
        ("auth password grant during guessing", "20 req/s"),
    ] {
        let row = table_row(&tables, "### form bodies, 0 registered plugin(s)", path, load);
        all_positive(row.unwrap_or_else(|| panic!("{path} not measured:\n{ctx}")), 2..8, &ctx);
    }

    // The router's targets are judged on interleaved rounds of each comparison.
    let rounds = table(&tables, "### Interleaved rounds (what the router's targets are judged on)", &ctx);
    let own_hop = rounds.rows.iter().find(|r| r[0] == "keel's own hop" && r[1] == "1");
    let own_hop = own_hop.unwrap_or_else(|| panic!("no round of keel's own hop:\n{ctx}"));
    assert_eq!((own_hop[2].as_str(), own_hop[3].as_str()), ("200 req/s", "two sidecars"), "{ctx}");
    all_positive(own_hop, [4, 5, 6, 7, 9, 10, 11, 12], &ctx);
    // The same hop with 1 MiB bodies (where a Nagle / delayed-ACK stall showed, issue 19).
    let large = rounds.rows.iter().find(|r| r[0] == "keel's own hop, 1 MiB bodies" && r[1] == "1");
    let large = large.unwrap_or_else(|| panic!("no round of keel's own hop with 1 MiB bodies:\n{ctx}"));
    assert_eq!((large[2].as_str(), large[3].as_str()), ("20 req/s", "two sidecars"), "{ctx}");
    all_positive(large, [4, 5, 6, 7, 9, 10, 11, 12], &ctx);
    let throughput = rounds.rows.iter().find(|r| r[0] == "throughput against nginx in keel's seat");
    let throughput = throughput.unwrap_or_else(|| panic!("no round against nginx:\n{ctx}"));
    if nginx {
        assert_eq!(throughput[1], "1", "{ctx}");
        all_positive(throughput, [4, 5, 6, 7, 9, 10, 11, 12], &ctx);
    } else {
        assert_eq!(throughput[2], NGINX_NOT_FOUND, "{ctx}");
    }

    // Every watched process, with a peak resident set above zero (CPU may round to 0.00 for a
    // sidecar the path does not cross).
    let resources = table(&tables, "### Resources of the measured processes", &ctx);
    for process in ["echo sidecar", "client sidecar", "keel sidecar", "keel"] {
        assert!(resources.rows.iter().any(|r| r[1] == process), "{process} not watched:\n{ctx}");
    }
    assert_eq!(resources.rows.iter().any(|r| r[1] == "nginx"), nginx, "{ctx}");
    for row in &resources.rows {
        assert!(number(&row[2]).is_some_and(|cpu| cpu >= 0.0), "CPU of {row:?}:\n{ctx}");
        all_positive(row, [3], &ctx);
    }

    // Overload: the plugin of bounded capacity at saturation, then at twice that rate through a
    // shedding keel and, for context, through one that does not shed.
    let overload = tables.iter().find(|t| t.heading.starts_with("### Overload"));
    let overload = overload.unwrap_or_else(|| panic!("no overload section:\n{ctx}"));
    assert_eq!(overload.rows.len(), 3, "{ctx}");
    for row in &overload.rows {
        // Achieved req/s, answers served and their latencies: numbers above zero.
        all_positive(row, [3, 4, 5, 6], &ctx);
    }
    let (round, load) = (|r: usize| overload.rows[r][1].as_str(), |r: usize| overload.rows[r][2].as_str());
    assert_eq!((round(0), load(0)), ("1", "saturation"), "{ctx}");
    assert_eq!(round(1), "1", "{ctx}");
    assert!(load(1).ends_with("req/s"), "{ctx}");
    assert_eq!(round(2), "-", "the context run has no round:\n{ctx}");

    // Every target, with a figure wherever the smoke run measures what it needs. "one sidecar hop
    // adds" and "token verification adds" are judged at 1,000 req/s, which a smoke run does not
    // run: their figure is "-".
    let targets = table(&tables, "## Targets", &ctx);
    let figure = |target: &str| -> String {
        let row = targets.rows.iter().find(|r| r[0].contains(target));
        row.unwrap_or_else(|| panic!("target {target:?} missing:\n{ctx}"))[1].clone()
    };
    for target in ["one sidecar hop adds", "token verification adds"] {
        figure(target);
    }
    for target in [
        "keel's own hop adds ≤ 0.3 ms at p50",
        "keel's own hop adds ≤ 1 ms at p99",
        "keel's own hop with 1 MiB bodies adds ≤ 2 ms at p90",
        "the whole detour through keel",
    ] {
        // A difference: any sign, but a number.
        assert!(number(&figure(target)).is_some(), "{target}: {}\n{ctx}", figure(target));
    }
    assert!(number(&figure("served requests' p99 ≤ 5×")).is_some_and(|v| v > 0.0), "{ctx}");
    figure("the rest refused within 10 ms");
    for target in ["keel stays under 30 MB resident", "password grant"] {
        assert!(number(&figure(target)).is_some_and(|v| v > 0.0), "{target}:\n{ctx}");
    }
    for target in [
        "80% of nginx in keel's seat",
        "100% of nginx in keel's seat",
        "keel external throughput at saturation against nginx's",
    ] {
        match nginx {
            true => assert!(number(&figure(target)).is_some_and(|v| v > 0.0), "{target}:\n{ctx}"),
            false => assert_eq!(figure(target), NGINX_NOT_FOUND, "{target}:\n{ctx}"),
        }
    }
    if !nginx {
        assert!(report.contains("nginx was not measured (nginx not found)"), "{ctx}");
    }
    assert!(report.contains("Produced by `cargo run --release -p bench -- --smoke`"), "{ctx}");
}

/// Runs `keel-bench --smoke` and returns the report it wrote and what it printed.
fn smoke_report() -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_keel-bench")).arg("--smoke").output().expect("run keel-bench");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "keel-bench --smoke failed:\n{stderr}");
    let report_path = stderr
        .lines()
        .find_map(|l| l.strip_prefix("report written to "))
        .unwrap_or_else(|| panic!("no report path in:\n{stderr}"));
    let report = std::fs::read_to_string(report_path.trim()).expect("read the report");
    let _ = std::fs::remove_file(report_path.trim());
    (report, stderr.into_owned())
}

/// `path` has one row per smoke load, each with its req/s, success rate and latencies above zero.
fn assert_measured(table: &Table, path: &str, ctx: &str) {
    for load in LOADS {
        let row = table.rows.iter().find(|r| r[0] == path && r[1] == load);
        let row = row.unwrap_or_else(|| panic!("{path} at {load} not measured:\n{ctx}"));
        all_positive(row, 2..8, ctx);
    }
}

/// Every cell of `row` at `columns` is a finite number above zero.
fn all_positive(row: &[String], columns: impl IntoIterator<Item = usize>, ctx: &str) {
    for c in columns {
        let v = number(&row[c]);
        assert!(v.is_some_and(|v| v > 0.0), "column {c} of {row:?} is not a number above zero:\n{ctx}");
    }
}

/// The number a figure starts with (`+0.25 ms`, `100.0%`, `28.1 MB peak`), if it is a finite one.
fn number(cell: &str) -> Option<f64> {
    let end =
        cell.find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '+' | '-'))).unwrap_or(cell.len());
    cell[..end].parse::<f64>().ok().filter(|v| v.is_finite())
}

/// One markdown table of the report: the heading it is under, and its data rows as cells.
struct Table {
    heading: String,
    rows: Vec<Vec<String>>,
}

/// Every table of `doc`, in order (header and separator lines left out).
fn tables(doc: &str) -> Vec<Table> {
    let mut out: Vec<Table> = Vec::new();
    let mut heading = String::new();
    let mut in_table = false;
    for line in doc.lines() {
        if line.starts_with('#') {
            heading = line.trim().to_owned();
        }
        if !line.starts_with('|') {
            in_table = false;
            continue;
        }
        let cells: Vec<String> =
            line.trim().trim_matches('|').split('|').map(|c| c.trim().to_owned()).collect();
        if !in_table {
            // The header line; the separator follows.
            out.push(Table { heading: heading.clone(), rows: Vec::new() });
            in_table = true;
        } else if !cells.iter().all(|c| c.chars().all(|ch| ch == '-' || ch == ':')) {
            out.last_mut().expect("a table").rows.push(cells);
        }
    }
    out
}

/// The table under `heading`.
fn table<'a>(tables: &'a [Table], heading: &str, ctx: &str) -> &'a Table {
    tables.iter().find(|t| t.heading == heading).unwrap_or_else(|| panic!("no table {heading:?}:\n{ctx}"))
}

/// The row of `path` at `load` in the table under `heading`.
fn table_row<'a>(tables: &'a [Table], heading: &str, path: &str, load: &str) -> Option<&'a Vec<String>> {
    tables
        .iter()
        .filter(|t| t.heading == heading)
        .flat_map(|t| &t.rows)
        .find(|r| r[0] == path && r[1] == load)
}
