//! Free loopback ports for child processes.

use std::collections::HashSet;
use std::net::TcpListener;
use std::ops::Range;
use std::sync::Mutex;

/// Where the search starts: above the ports services commonly claim.
const LOWEST: u16 = 10_000;

/// A port that was free a moment ago and that this process has not handed out before. The small
/// window before the child binds it is the price of letting a separate process bind it.
///
/// Ports come from below the kernel's ephemeral range. `bind(0)` draws from that range, so a port
/// found there could be handed to any process's next `bind(0)` (a sidecar's internal listener,
/// say) before the child binds it: the app would then fail to start while its sidecar, probing
/// the port, found something answering and reported ready. Below the range only an explicit bind
/// can take the port. A random start keeps separate test processes apart.
pub fn free_port() -> u16 {
    static GIVEN: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    let range = fixed_range();
    loop {
        let port = match &range {
            Some(r) => rand::random_range(r.clone()),
            None => ephemeral(),
        };
        let mut guard = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
        let given = guard.get_or_insert_with(HashSet::new);
        // The wildcard bind fails if anything listens on the port on any address.
        if !given.contains(&port) && TcpListener::bind(("0.0.0.0", port)).is_ok() {
            given.insert(port);
            return port;
        }
    }
}

/// `LOWEST..` the start of the ephemeral range, when that leaves room; `None` otherwise (then the
/// kernel picks, as before).
fn fixed_range() -> Option<Range<u16>> {
    let text = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok()?;
    let first: u16 = text.split_whitespace().next()?.parse().ok()?;
    (first > LOWEST + 1_000).then_some(LOWEST..first)
}

fn ephemeral() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("bind port 0").port()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_distinct_bindable_and_outside_the_ephemeral_range() {
        let ports: Vec<u16> = (0..200).map(|_| free_port()).collect();
        let distinct: HashSet<u16> = ports.iter().copied().collect();
        assert_eq!(distinct.len(), ports.len());
        if let Some(range) = fixed_range() {
            assert!(ports.iter().all(|p| range.contains(p)), "{ports:?} outside {range:?}");
        }
        for p in ports.iter().take(20) {
            TcpListener::bind(("127.0.0.1", *p)).expect("a handed-out port binds");
        }
    }
}
