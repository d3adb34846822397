//! Load shedding, as Envoy's circuit breakers (`max_requests`, `max_pending_requests`) do it: a
//! bounded number of requests forwarded at once overall and per plugin, a short wait for a turn
//! when all are taken, and past that a fast 503 `ERR_OVERLOADED` with `Retry-After`, so that what
//! is served keeps its latency instead of every request queueing for seconds.
//!
//! A turn is held from the forward until the plugin's answer head is back (the body then streams
//! on without one): the limit bounds the requests waiting on plugins, which is what queues.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::errors::RouteError;

/// The limits, and the turns taken.
#[derive(Debug)]
pub struct Shedding {
    overall: Arc<Semaphore>,
    per_plugin: usize,
    queue: Duration,
    retry_after: Duration,
    plugins: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// Turns held by one request; released when dropped.
#[derive(Debug)]
pub struct Turn {
    _overall: OwnedSemaphorePermit,
    _plugin: OwnedSemaphorePermit,
}

impl Shedding {
    /// At most `overall` requests forwarded at once, `per_plugin` to one plugin, each waiting at
    /// most `queue` for a turn; refusals say to retry after `retry_after`.
    pub fn new(overall: usize, per_plugin: usize, queue: Duration, retry_after: Duration) -> Self {
        Self {
            overall: Arc::new(Semaphore::new(overall.max(1))),
            per_plugin: per_plugin.max(1),
            queue,
            retry_after,
            plugins: Mutex::default(),
        }
    }

    fn plugin(&self, plugin: &str) -> Arc<Semaphore> {
        let mut map = self.plugins.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = map.get(plugin) {
            return Arc::clone(s);
        }
        // Forget idle plugins now and then, so unregistered ones do not pile up.
        if map.len() >= 4096 {
            let per_plugin = self.per_plugin;
            map.retain(|_, s| s.available_permits() < per_plugin);
        }
        Arc::clone(map.entry(plugin.to_owned()).or_insert_with(|| Arc::new(Semaphore::new(self.per_plugin))))
    }

    /// A turn to forward to `plugin`, waiting at most the queue timeout; else 503 `ERR_OVERLOADED`.
    pub async fn enter(&self, plugin: &str) -> Result<Turn, RouteError> {
        let refused =
            |scope: &str| RouteError::Overloaded { scope: scope.to_owned(), retry_after: self.retry_after };
        let per = self.plugin(plugin);
        // The common case takes no timer: both turns free at once.
        if let (Ok(overall), Ok(plugin_turn)) =
            (Arc::clone(&self.overall).try_acquire_owned(), Arc::clone(&per).try_acquire_owned())
        {
            return Ok(Turn { _overall: overall, _plugin: plugin_turn });
        }
        let take = async {
            let overall = Arc::clone(&self.overall).acquire_owned().await.map_err(|_| refused("keel"))?;
            let plugin_turn = per.acquire_owned().await.map_err(|_| refused(plugin))?;
            Ok(Turn { _overall: overall, _plugin: plugin_turn })
        };
        match tokio::time::timeout(self.queue, take).await {
            Ok(turn) => turn,
            Err(_) => {
                let scope = if self.overall.available_permits() == 0 { "keel" } else { plugin };
                tracing::debug!(plugin, scope, "Request shed: no turn within the queue timeout");
                Err(refused(scope))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_rt::test]
    async fn past_the_limit_a_request_waits_its_queue_time_then_is_refused() {
        let s = Shedding::new(10, 2, Duration::from_millis(50), Duration::from_secs(1));
        let a = s.enter("p").await.expect("first");
        let _b = s.enter("p").await.expect("second");
        let started = std::time::Instant::now();
        let third = s.enter("p").await;
        assert!(matches!(third, Err(RouteError::Overloaded { ref scope, .. }) if scope == "p"), "{third:?}");
        assert!(started.elapsed() >= Duration::from_millis(50));
        assert!(s.enter("other").await.is_ok(), "another plugin has its own turns");
        drop(a);
        assert!(s.enter("p").await.is_ok(), "a released turn is taken");
    }

    #[actix_rt::test]
    async fn the_overall_limit_holds_across_plugins() {
        let s = Shedding::new(2, 10, Duration::from_millis(20), Duration::from_secs(1));
        let _a = s.enter("a").await.unwrap();
        let _b = s.enter("b").await.unwrap();
        let c = s.enter("c").await;
        assert!(matches!(c, Err(RouteError::Overloaded { ref scope, .. }) if scope == "keel"), "{c:?}");
    }
}
