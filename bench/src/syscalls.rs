//! The kernel's part of a forwarded request, which callgrind does not see: the system calls a
//! router makes per request (counted with `strace -c`, as repeatable as the instruction count)
//! and its CPU time per request split into user and system time (timed, from procfs). Together
//! with the instruction count they say whether a gap to nginx is in the router's own code or in
//! what it asks of the kernel (docs/benchmarks.md, "CPU per request, counted").

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use crate::load::{self, Load};
use crate::procstat;
use crate::scenario::LOAD_CPUS;

/// One router's kernel-side figures over its counted requests.
pub struct KernelSide {
    pub name: &'static str,
    /// Requests traced.
    pub requests: u64,
    /// Requests timed ([`TIMED`] times as many: CPU time is read in 10 ms ticks).
    pub timed: u64,
    /// System calls by name over the traced load.
    pub calls: BTreeMap<String, u64>,
    /// CPU seconds in user and in system mode over the timed load (without strace).
    pub user_seconds: f64,
    pub system_seconds: f64,
}

impl KernelSide {
    /// All system calls per request.
    pub fn per_request(&self) -> f64 {
        self.calls.values().sum::<u64>() as f64 / self.requests as f64
    }

    /// The calls of `names` per request.
    pub fn of(&self, names: &[&str]) -> f64 {
        names.iter().filter_map(|n| self.calls.get(*n)).sum::<u64>() as f64 / self.requests as f64
    }
}

/// How many times the traced requests are timed: procfs counts CPU time in 10 ms ticks.
pub const TIMED: u64 = 10;

/// Warms `pid` up with `requests`, times [`TIMED`] × as many (user and system CPU from procfs),
/// then sends `requests` more under `strace -c -f` attached to all of `pid`'s threads and counts
/// their system calls. `load(n)` is a load of `n` requests; `out` is strace's summary file.
pub fn measure(
    name: &'static str,
    oha: &Path,
    pid: u32,
    out: &Path,
    requests: u64,
    load: impl Fn(u64) -> Load,
) -> Result<KernelSide, String> {
    let warm = load(requests);
    load::ok_only(name, &load::run(oha, LOAD_CPUS, &warm)?.statuses, expected(&warm))?;

    let timed = load(requests * TIMED);
    let before = procstat::cpu_split(pid).ok_or_else(|| format!("{name}: process {pid} is gone"))?;
    load::ok_only(name, &load::run(oha, LOAD_CPUS, &timed)?.statuses, expected(&timed))?;
    let after = procstat::cpu_split(pid).ok_or_else(|| format!("{name}: process {pid} is gone"))?;

    let traced = load(requests);
    let mut strace = Command::new("strace")
        .args(["-c", "-f", "-o"])
        .arg(out)
        .args(["-p", &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("run strace (Debian package strace; scripts/test-deps installs it): {e}"))?;
    // strace says "Process <pid> attached with <n> threads" once every thread is traced.
    let stderr = strace.stderr.take().ok_or("strace's stderr")?;
    let mut said = String::new();
    let mut lines = BufReader::new(stderr).lines();
    loop {
        match lines.next() {
            Some(Ok(line)) if line.contains("attached") => break,
            Some(Ok(line)) => said.push_str(&line),
            _ => {
                let _ = strace.wait();
                return Err(format!("{name}: strace did not attach to {pid}: {said}"));
            }
        }
    }
    let answered = load::run(oha, LOAD_CPUS, &traced);
    // SIGINT: strace detaches and writes its summary.
    let _ = Command::new("kill").args(["-INT", &strace.id().to_string()]).status();
    let _ = strace.wait();
    load::ok_only(name, &answered?.statuses, expected(&traced))?;
    let summary = std::fs::read_to_string(out).map_err(|e| format!("read {}: {e}", out.display()))?;
    let calls = parse_summary(&summary);
    if calls.is_empty() {
        return Err(format!("{name}: strace counted no system calls:\n{summary}"));
    }
    Ok(KernelSide {
        name,
        requests: expected(&traced),
        timed: expected(&timed),
        calls,
        user_seconds: after.0 - before.0,
        system_seconds: after.1 - before.1,
    })
}

fn expected(load: &Load) -> u64 {
    load.requests.unwrap_or(0)
}

/// Calls per system call from `strace -c`'s table:
/// `% time  seconds  usecs/call  calls  [errors]  syscall`, then a `total` line.
fn parse_summary(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split_whitespace().collect();
            let (name, calls) = (cells.last()?, cells.get(3)?.parse::<u64>().ok()?);
            let numeric = cells[0].parse::<f64>().is_ok();
            (numeric && *name != "total").then(|| ((*name).to_owned(), calls))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_straces_summary_table() {
        let text = "% time     seconds  usecs/call     calls    errors syscall\n\
                    ------ ----------- ----------- --------- --------- ----------------\n \
                    82.81    7.927254         521     15195           epoll_wait\n \
                    10.20    0.976231          24     40031           sendto\n  \
                    0.00    0.000201          22         9         1 accept4\n\
                    ------ ----------- ----------- --------- --------- ----------------\n\
                    100.00    9.572591          93    55235         1 total\n";
        let calls = parse_summary(text);
        assert_eq!(calls.len(), 3, "{calls:?}");
        assert_eq!(calls["epoll_wait"], 15195);
        assert_eq!(calls["sendto"], 40031);
        assert_eq!(calls["accept4"], 9);
    }
}
