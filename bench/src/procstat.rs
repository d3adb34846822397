//! CPU time and resident memory of measured processes, from procfs, so figures are the
//! processes' own and not the load generator's.

use std::fs;

/// Clock ticks per second for `/proc/<pid>/stat` times (Linux's USER_HZ is 100 on every
/// mainstream architecture).
const TICKS_PER_SEC: f64 = 100.0;

/// A point-in-time reading of one process tree.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    /// User + system CPU seconds consumed so far.
    pub cpu_seconds: f64,
    /// Resident set size now, in bytes.
    pub rss_bytes: u64,
}

/// Reads `pid` and all its descendants.
pub fn sample_tree(pid: u32) -> Sample {
    let mut total = Sample::default();
    let mut stack = vec![pid];
    while let Some(p) = stack.pop() {
        if let Some(s) = sample(p) {
            total.cpu_seconds += s.cpu_seconds;
            total.rss_bytes += s.rss_bytes;
        }
        stack.extend(children(p));
    }
    total
}

/// Reads `pid` alone, without its children (zero when it is gone).
pub fn sample_own(pid: u32) -> Sample {
    sample(pid).unwrap_or_default()
}

/// User and system CPU seconds `pid` (all its threads, not its children) consumed so far.
pub fn cpu_split(pid: u32) -> Option<(f64, f64)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime / TICKS_PER_SEC, stime / TICKS_PER_SEC))
}

fn sample(pid: u32) -> Option<Sample> {
    let (user, system) = cpu_split(pid)?;
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Some(Sample { cpu_seconds: user + system, rss_bytes: rss_kb * 1024 })
}

/// Direct children of `pid`.
pub fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for task in fs::read_dir(format!("/proc/{pid}/task")).into_iter().flatten().flatten() {
        let text = fs::read_to_string(task.path().join("children")).unwrap_or_default();
        out.extend(text.split_whitespace().filter_map(|c| c.parse::<u32>().ok()));
    }
    out
}

/// Pins every thread of `pid` and its descendants to `cpus` (a taskset list like "0").
pub fn pin_tree(pid: u32, cpus: &str) {
    let mut stack = vec![pid];
    while let Some(p) = stack.pop() {
        let _ = std::process::Command::new("taskset")
            .args(["-a", "-p", "-c", cpus, &p.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        stack.extend(children(p));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_its_own_process() {
        let s = sample_tree(std::process::id());
        assert!(s.rss_bytes > 0);
        assert!(s.cpu_seconds >= 0.0);
    }
}
