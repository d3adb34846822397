//! Slowing down password guessing (issue 13 §7). Failed password grants (and client
//! authentications, counted per client id as if it were a user) are counted per user *and client
//! address* and per client address alone; past a few free failures each further one makes
//! that key wait longer (doubling from `login_delay_base_ms` up to `login_delay_max_seconds`), and
//! a waiting key is answered 429 with `Retry-After` before any password hash is computed, so a
//! guessing client costs auth almost nothing and other users' logins keep their speed.
//!
//! The real user is not locked out from elsewhere: the per-user count is kept per address, so an
//! attacker hammering `admin` from one address delays only that address (for every user, once the
//! address's own limit is passed), never `admin` logging in from another. A success clears the
//! user-and-address count; the address count only decays (a client with one account of its own
//! must not reset its guessing budget by logging into it).
//!
//! The client address is what keel vouches for: the first `x-forwarded-for` entry, believed only
//! when the caller's sidecar stamped `dapr-caller-app-id: keel`. Anyone else calling auth directly
//! is counted under their app-id (or `local`). A call from keel without the header has no address:
//! only its per-user count applies.
//!
//! Counts are per replica and in memory, bounded in number; a failure is forgotten after
//! `login_delay_max_seconds` without another.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::http::header::X_FORWARDED_FOR;
use actix_web::HttpRequest;
use keel_sdk::protocol::KEEL_APP_ID;

use crate::api::caller::caller_app;
use crate::Config;

/// Most keys remembered; past it, keys not currently waiting are forgotten first.
const MAX_KEYS: usize = 100_000;

/// What a count is kept for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    /// One user (`tenant/name`) from one address.
    UserAt(String, String),
    /// One address, whichever users it tries.
    Address(String),
}

#[derive(Debug, Clone, Copy)]
struct Count {
    failures: u32,
    last: Instant,
    wait_until: Instant,
}

/// Where a login came from: an address, or `None` when keel vouched for none (a keel that does
/// not send `x-forwarded-for` yet). Without an address only the per-user count applies: one
/// shared bucket for every client behind keel would let one attacker hold everybody back.
pub type Address = Option<String>;

/// The keys a login from `address` for `user` is counted under.
fn keys(user: &str, address: &Address) -> Vec<Key> {
    let at = address.as_deref().unwrap_or(KEEL_APP_ID);
    let mut keys = vec![Key::UserAt(user.to_owned(), at.to_owned())];
    if let Some(a) = address {
        keys.push(Key::Address(a.clone()));
    }
    keys
}

/// The failure counts of one replica. `Send + Sync`.
pub struct Throttle {
    counts: Mutex<HashMap<Key, Count>>,
    free_per_user: u32,
    free_per_address: u32,
    base: Duration,
    max: Duration,
}

impl Throttle {
    /// Limits from `cfg`.
    pub fn new(cfg: &Config) -> Self {
        Self {
            counts: Mutex::new(HashMap::new()),
            free_per_user: cfg.login_free_failures,
            free_per_address: cfg.login_free_failures_per_address,
            base: Duration::from_millis(cfg.login_delay_base_ms),
            max: Duration::from_secs(cfg.login_delay_max_seconds),
        }
    }

    /// `Err(wait)` (whole seconds) when `user` from `address` must wait before trying again.
    pub fn check(&self, user: &str, address: &Address) -> Result<(), Duration> {
        let now = Instant::now();
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let wait = keys(user, address)
            .iter()
            .filter_map(|k| counts.get(k))
            .map(|c| c.wait_until.saturating_duration_since(now))
            .max()
            .unwrap_or_default();
        if wait.is_zero() {
            Ok(())
        } else {
            // Whole seconds, rounded up: `Retry-After` must not send the client back too early.
            Err(Duration::from_secs(wait.as_secs() + u64::from(wait.subsec_nanos() > 0)))
        }
    }

    /// Counts a failure of `user` from `address`; returns how long that address must now wait
    /// before trying `user` again (zero while failures are still free).
    pub fn failed(&self, user: &str, address: &Address) -> Duration {
        let now = Instant::now();
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if counts.len() >= MAX_KEYS {
            counts.retain(|_, c| c.wait_until > now);
            if counts.len() >= MAX_KEYS {
                counts.clear();
            }
        }
        let mut longest = Duration::ZERO;
        for key in keys(user, address) {
            let free = match key {
                Key::UserAt(..) => self.free_per_user,
                Key::Address(_) => self.free_per_address,
            };
            let count = counts.entry(key).or_insert(Count { failures: 0, last: now, wait_until: now });
            if now.duration_since(count.last) > self.max {
                *count = Count { failures: 0, last: now, wait_until: now };
            }
            count.failures = count.failures.saturating_add(1);
            count.last = now;
            let wait = self.delay(count.failures, free);
            count.wait_until = now + wait;
            longest = longest.max(wait);
        }
        longest
    }

    /// A success of `user` from `address` clears that pair's count.
    pub fn succeeded(&self, user: &str, address: &Address) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(key) = keys(user, address).into_iter().next() {
            counts.remove(&key);
        }
    }

    /// The wait after the `failures`-th failure when `free` are free: the base, doubled for
    /// each failure beyond the first paid one, at most the maximum.
    fn delay(&self, failures: u32, free: u32) -> Duration {
        let paid = failures.saturating_sub(free);
        if paid == 0 {
            return Duration::ZERO;
        }
        let factor = 1u32.checked_shl(paid - 1).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.max)
    }
}

/// The client address of a login: keel's `x-forwarded-for` (first entry) when keel's sidecar
/// stamped the call (`None` when keel sent none), else `app:<caller>` or `local`.
pub fn client_address(req: &HttpRequest) -> Address {
    match caller_app(req) {
        Some(KEEL_APP_ID) => req
            .headers()
            .get(X_FORWARDED_FOR)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(|a| keel_sdk::service::snippet(a.as_bytes())),
        Some(app) => Some(format!("app:{app}")),
        None => Some("local".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(a: &str) -> Address {
        Some(a.to_owned())
    }

    fn throttle() -> Throttle {
        let cfg = Config {
            login_free_failures: 3,
            login_free_failures_per_address: 10,
            login_delay_base_ms: 1_000,
            login_delay_max_seconds: 60,
            ..Config::default()
        };
        Throttle::new(&cfg)
    }

    #[test]
    fn failures_past_the_free_ones_wait_longer_each_time_up_to_the_maximum() {
        let t = throttle();
        let waits: Vec<u64> =
            (0..10).map(|_| t.failed("platform/admin", &at("203.0.113.7")).as_secs()).collect();
        assert_eq!(waits, [0, 0, 0, 1, 2, 4, 8, 16, 32, 60]);
        assert!(t.check("platform/admin", &at("203.0.113.7")).is_err());
    }

    #[test]
    fn the_real_user_from_another_address_is_not_held_back() {
        let t = throttle();
        for _ in 0..8 {
            t.failed("platform/admin", &at("203.0.113.7"));
        }
        assert!(t.check("platform/admin", &at("203.0.113.7")).is_err());
        assert!(t.check("platform/admin", &at("198.51.100.2")).is_ok());
        assert!(t.check("platform/bob", &at("203.0.113.7")).is_ok(), "the address limit is not reached yet");
        t.succeeded("platform/admin", &at("198.51.100.2"));
        assert!(
            t.check("platform/admin", &at("203.0.113.7")).is_err(),
            "another address's success clears nothing"
        );
    }

    #[test]
    fn spraying_many_users_from_one_address_is_held_back_by_the_address_count() {
        let t = throttle();
        for i in 0..11 {
            t.failed(&format!("platform/user{i}"), &at("203.0.113.7"));
        }
        assert!(t.check("platform/someone-new", &at("203.0.113.7")).is_err());
        assert!(t.check("platform/someone-new", &at("198.51.100.2")).is_ok());
    }

    #[test]
    fn without_an_address_from_keel_only_the_user_count_applies() {
        let t = throttle();
        for i in 0..20 {
            t.failed(&format!("platform/user{i}"), &None);
        }
        assert!(t.check("platform/someone-new", &None).is_ok(), "no shared bucket for everyone behind keel");
        for _ in 0..4 {
            t.failed("platform/admin", &None);
        }
        assert!(t.check("platform/admin", &None).is_err());
    }
}
