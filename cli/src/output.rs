//! Printing results: aligned tables and `field  value` lines for people, JSON for scripts, and the
//! ages (`12s ago`) people read times as.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::args::Output;

/// Prints `records` as JSON, or as a table of `headers` and the `row` of each.
pub fn list<T: Serialize>(format: Output, records: &[T], headers: &[&str], row: impl Fn(&T) -> Vec<String>) {
    match format {
        Output::Json => json(&records),
        Output::Table => print!("{}", table(headers, records.iter().map(row).collect())),
    }
}

/// Prints `record` as JSON, or as the `field  value` lines `fields` makes of it.
pub fn record<T: Serialize>(format: Output, record: &T, fields: impl Fn(&T) -> Vec<(&'static str, String)>) {
    match format {
        Output::Json => json(record),
        Output::Table => print!("{}", lines(&fields(record))),
    }
}

/// Pretty JSON on standard output.
pub fn json<T: Serialize + ?Sized>(value: &T) {
    println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
}

/// `rows` as left-aligned columns under `headers`; trailing spaces trimmed.
pub fn table(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let widths: Vec<usize> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0).max(h.len()))
        .collect();
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let parts: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        out.push_str(parts.join("  ").trim_end());
        out.push('\n');
    };
    line(headers.to_vec());
    for r in &rows {
        line(r.iter().map(String::as_str).collect());
    }
    out
}

/// `field  value` lines, the values aligned.
pub fn lines(fields: &[(&str, String)]) -> String {
    let width = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    fields.iter().map(|(k, v)| format!("{k:width$}  {v}\n")).collect()
}

/// A cell for an optional or empty value: `-` when there is none.
pub fn or_dash(v: impl AsRef<str>) -> String {
    let v = v.as_ref();
    if v.is_empty() {
        "-".to_owned()
    } else {
        v.to_owned()
    }
}

/// A list as one cell: comma-separated, `-` when empty.
pub fn joined<S: AsRef<str>>(items: &[S]) -> String {
    or_dash(items.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(","))
}

/// Now, in milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// How long before `now_ms` the time `then_ms` was, coarsely: `42s ago`, `5m ago`, `3h ago`,
/// `2d ago`. A time in the future (another machine's clock running ahead) reads `0s ago`.
pub fn age(then_ms: u64, now_ms: u64) -> String {
    let secs = now_ms.saturating_sub(then_ms) / 1000;
    match secs {
        0..=119 => format!("{secs}s ago"),
        120..=7_199 => format!("{}m ago", secs / 60),
        7_200..=172_799 => format!("{}h ago", secs / 3_600),
        _ => format!("{}d ago", secs / 86_400),
    }
}

/// A time in seconds since the epoch (auth's records) as RFC 3339 with its age, `-` for none.
pub fn time_secs(secs: u64, now_ms: u64) -> String {
    if secs == 0 {
        return "-".to_owned();
    }
    let at = humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(secs));
    format!("{at} ({})", age(secs.saturating_mul(1000), now_ms))
}

#[cfg(test)]
mod tests;
