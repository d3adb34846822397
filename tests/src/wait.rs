//! Waiting with deadlines instead of fixed sleeps.

use std::future::Future;
use std::time::{Duration, Instant};

/// Polls `GET url` until it answers 2xx, or panics after `limit` with `context`.
pub async fn wait_healthy(url: &str, limit: Duration, context: impl Fn() -> String) {
    let client = awc::Client::builder().timeout(Duration::from_secs(2)).finish();
    let started = Instant::now();
    loop {
        if let Ok(res) = client.get(url).send().await {
            if res.status().is_success() {
                return;
            }
        }
        assert!(started.elapsed() < limit, "{url} not healthy within {limit:?}\n{}", context());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Re-evaluates `check` every 50 ms until it returns `Some`, or panics after `limit` with `what`.
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(started.elapsed() < limit, "timed out after {limit:?} waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
