//! The machine a run was measured on, and how busy it was, so figures can be compared across
//! runs and noise from other work on the machine is visible in the report.

use std::fs;
use std::path::Path;
use std::process::Command;

/// What the report says about the machine.
#[derive(Debug, Clone, Default)]
pub struct Machine {
    /// `model name` from `/proc/cpuinfo`.
    pub cpu: String,
    /// Logical CPUs this process may run on.
    pub cores: usize,
    /// Total memory, in MiB.
    pub memory_mib: u64,
    /// Kernel release.
    pub kernel: String,
    /// UTC date and time the run started.
    pub date: String,
    /// The commit measured, and how many tracked files differed from it.
    pub revision: String,
    /// The soft `ulimit -n`.
    pub nofile: u64,
    /// Where the platform's files (state store, name registry) live.
    pub files: String,
}

impl Machine {
    /// Reads everything now; `root` is the workspace (for the revision), `files` where the
    /// platform's files go.
    pub fn read(root: &Path, files: &Path) -> Machine {
        let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .and_then(|v| v.split_once(':'))
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_else(|| "unknown".into());
        let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory_kb: u64 = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let date = Command::new("date")
            .args(["-u", "+%Y-%m-%d %H:%M UTC"])
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| "unknown".into());
        Machine {
            cpu,
            cores: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            memory_mib: memory_kb / 1024,
            kernel: fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_owned(),
            date,
            revision: revision(root),
            nofile: soft_nofile().unwrap_or(0),
            files: files.display().to_string(),
        }
    }
}

/// `git` HEAD of `root`, noting uncommitted changes to tracked files (which are built too).
fn revision(root: &Path) -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(root)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
    };
    let Some(head) = git(&["rev-parse", "--short=12", "HEAD"]) else { return "unknown".into() };
    let changed =
        git(&["status", "--porcelain", "--untracked-files=no"]).map(|s| s.lines().count()).unwrap_or(0);
    match changed {
        0 => head.trim().to_owned(),
        n => format!("{} with {n} tracked file(s) modified", head.trim()),
    }
}

/// The 1-minute load average now.
pub fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".into())
}

/// This process's soft limit on open files (inherited by every process it starts).
pub fn soft_nofile() -> Option<u64> {
    let limits = fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let soft = line.trim_start_matches("Max open files").split_whitespace().next()?;
    // "unlimited" is as good as any number here.
    Some(soft.parse().unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_machine() {
        let m = Machine::read(Path::new("."), Path::new("/tmp"));
        assert!(m.cores >= 1);
        assert!(soft_nofile().is_some_and(|n| n > 0));
    }
}
