//! Free loopback ports for child processes.

use std::collections::HashSet;
use std::net::TcpListener;
use std::sync::Mutex;

/// A port that was free a moment ago and that this process has not handed out before. The small
/// window before the child binds it is the price of letting a separate process bind it.
pub fn free_port() -> u16 {
    static GIVEN: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    loop {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("bind port 0").port();
        let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
        if given.get_or_insert_with(HashSet::new).insert(port) {
            return port;
        }
    }
}
