//! What `/proc/<pid>/stat` says of a process: whether it still runs, its process group and its
//! start time (which tells a recorded PID from a recycled one).

/// The fields hosting reads, after the command name (which may hold spaces and parentheses).
struct Stat {
    state: char,
    pgrp: i32,
    start_ticks: u64,
}

fn stat(pid: i32) -> Option<Stat> {
    if pid <= 0 {
        return None;
    }
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state(3) ppid(4) pgrp(5) ... starttime(22); index = field - 3.
    Some(Stat {
        state: fields.first()?.chars().next()?,
        pgrp: fields.get(2)?.parse().ok()?,
        start_ticks: fields.get(19)?.parse().ok()?,
    })
}

/// Whether `pid` runs (a zombie, dead but not yet collected, does not).
pub fn alive(pid: i32) -> bool {
    stat(pid).is_some_and(|s| !matches!(s.state, 'Z' | 'X' | 'x'))
}

/// `pid`'s process group.
pub fn pgid(pid: i32) -> Option<i32> {
    stat(pid).map(|s| s.pgrp)
}

/// `pid`'s start time in clock ticks since boot.
pub fn start_ticks(pid: i32) -> Option<u64> {
    stat(pid).map(|s| s.start_ticks)
}

/// Whether `pid` is alive and still the process that started at `ticks`.
pub fn is_same(pid: i32, ticks: u64) -> bool {
    alive(pid) && start_ticks(pid) == Some(ticks)
}

/// Every live process whose process group is `pgid`.
pub fn group_members(pgid: i32) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| stat(*pid).is_some_and(|s| s.pgrp == pgid && !matches!(s.state, 'Z' | 'X' | 'x')))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_with_a_start_time() {
        let me = std::process::id() as i32;
        assert!(alive(me));
        let ticks = start_ticks(me).unwrap();
        assert!(is_same(me, ticks));
        assert!(!is_same(me, ticks + 1));
        assert!(pgid(me).is_some());
        assert!(!alive(i32::MAX));
    }
}
