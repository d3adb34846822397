//! What the tests ask of a process by its pid.

/// Whether `pid` runs: it exists and is not a zombie waiting to be reaped (its state, after the
/// parenthesised command name in `/proc/<pid>/stat`, is not `Z`).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| stat.rsplit_once(") ").map(|(_, rest)| !rest.starts_with('Z')))
        .unwrap_or(false)
}
