//! Retry schedules, from `backon`: one per situation, so every service waits the same way.
//!
//! ```
//! use keel_sdk::service::retry;
//! use backon::BackoffBuilder;
//! let mut delays = retry::after_race(8).build();
//! assert!(delays.next().unwrap() < std::time::Duration::from_millis(11));
//! ```

use std::time::Duration;

pub use backon::{BackoffBuilder, ExponentialBuilder, Retryable};

/// After losing a concurrent-write race (an ETag mismatch): 5 ms doubling up to 320 ms, each
/// with up to as much again of jitter so racing replicas spread out, at most `attempts` retries.
pub fn after_race(attempts: usize) -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(5))
        .with_max_delay(Duration::from_millis(320))
        .with_factor(2.0)
        .with_jitter()
        .with_max_times(attempts)
}

/// Waiting for a peer that is still starting: `first`, doubling up to `max`, jittered, without
/// end (the caller decides when to give up).
pub fn until_up(first: Duration, max: Duration) -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(first)
        .with_max_delay(max.max(first))
        .with_factor(2.0)
        .with_jitter()
        .without_max_times()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn races_back_off_growing_and_bounded() {
        let delays: Vec<Duration> = after_race(10).build().collect();
        assert_eq!(delays.len(), 10);
        assert!(delays[0] >= Duration::from_millis(5) && delays[0] <= Duration::from_millis(10));
        assert!(delays[3] >= Duration::from_millis(40));
        assert!(delays.iter().all(|d| *d <= Duration::from_millis(640)), "{delays:?}");
    }

    #[test]
    fn waiting_for_a_peer_never_ends_and_stays_under_its_cap() {
        let mut delays = until_up(Duration::from_millis(100), Duration::from_secs(1)).build();
        let taken: Vec<Duration> = delays.by_ref().take(50).collect();
        assert_eq!(taken.len(), 50);
        assert!(taken.iter().all(|d| *d <= Duration::from_secs(2)), "{taken:?}");
        assert!(delays.next().is_some());
    }
}
