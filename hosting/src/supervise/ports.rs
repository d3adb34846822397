//! Ports for hosted services, from the configured range: one not held by another service of
//! this process and free on every address right now, handed out round the range so a port just
//! given up (by an upgrade's old version) is not the next one given.

use std::collections::HashSet;
use std::net::TcpListener;
use std::ops::RangeInclusive;
use std::sync::{Mutex, OnceLock};

struct Held {
    ports: HashSet<u16>,
    next: u32,
}

fn held() -> &'static Mutex<Held> {
    static HELD: OnceLock<Mutex<Held>> = OnceLock::new();
    HELD.get_or_init(|| Mutex::new(Held { ports: HashSet::new(), next: 0 }))
}

/// A port held for one start; given back when dropped.
#[derive(Debug)]
pub struct Lease(u16);

impl Lease {
    /// The port.
    pub fn port(&self) -> u16 {
        self.0
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        held().lock().unwrap_or_else(|e| e.into_inner()).ports.remove(&self.0);
    }
}

fn free_now(port: u16) -> bool {
    TcpListener::bind(("0.0.0.0", port)).is_ok() && TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// A port of `range`, or `None` when every one is taken.
pub fn lease(range: RangeInclusive<u16>) -> Option<Lease> {
    let (start, end) = (u32::from(*range.start()), u32::from(*range.end()));
    let size = end - start + 1;
    let mut h = held().lock().unwrap_or_else(|e| e.into_inner());
    for i in 0..size {
        let port = (start + (h.next + i) % size) as u16;
        if !h.ports.contains(&port) && free_now(port) {
            h.next = (h.next + i + 1) % size;
            h.ports.insert(port);
            return Some(Lease(port));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_are_distinct_while_held() {
        let probe = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = probe.local_addr().unwrap().port();
        drop(probe);
        let range = base..=base.saturating_add(2);
        let a = lease(range.clone()).unwrap();
        let b = lease(range.clone()).unwrap();
        assert_ne!(a.port(), b.port());
        drop(a);
        let c = lease(range).unwrap();
        assert_ne!(c.port(), b.port());
    }
}
