//! Passive health, as Envoy's outlier detection does it: consecutive connection failures to a
//! plugin on live traffic eject it at once, so its callers get a quick 503 with `Retry-After`
//! instead of a 502 each until the registry's poll notices (three polls: 10–15 s by default).
//!
//! - After `after` failures in a row (keel's sidecar could not reach the plugin: a 502
//!   `ERR_PLUGIN_UNREACHABLE`), the plugin is ejected for `base × ejections`, at most `max`; the
//!   first ejection is reported to the caller of [`Outliers::failed`], which tells the registry
//!   so its next poll probes the plugin at once.
//! - When the ejection ends, one request is let through as a trial: a success readmits the
//!   plugin, a failure ejects it again (for longer).
//! - Active polling brings it back too: once the registry has marked the plugin down and then
//!   `ACTIVE` again, the table says so and [`Outliers::table_installed`] readmits it.
//!
//! A plugin's own answers, errors included, are not failures: only not reaching it is. The
//! request path costs one atomic load while nothing is tracked.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use awc::http::Method;
use keel_sdk::dapr::DaprClient;
use keel_sdk::management::registry::suspect_path;
use keel_sdk::protocol::{PluginStatus, RouteTable, REGISTRY_APP_ID};

/// How long telling the registry may take; it is a hint, and its poll finds the outage anyway.
const REPORT_TIMEOUT: Duration = Duration::from_secs(2);

/// One plugin's recent failures.
#[derive(Debug, Default)]
struct Health {
    /// Connection failures in a row.
    failures: u32,
    /// Ejections since its last success.
    ejections: u32,
    /// Ejected until then.
    until: Option<Instant>,
    /// A table has shown it not `ACTIVE` since it was ejected: the registry noticed.
    seen_down: bool,
}

/// Verdict of [`Outliers::admit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Forward.
    Pass,
    /// Ejected: refuse, retrying after this long.
    Ejected(Duration),
}

/// The passive health of every plugin that failed lately.
#[derive(Debug)]
pub struct Outliers {
    after: u32,
    base: Duration,
    max: Duration,
    tracked: AtomicUsize,
    by_plugin: Mutex<HashMap<String, Health>>,
}

impl Outliers {
    /// Ejects after `after` failures in a row (0: never), for `base` times the ejections so
    /// far, at most `max`.
    pub fn new(after: u32, base: Duration, max: Duration) -> Self {
        Self { after, base, max: max.max(base), tracked: AtomicUsize::new(0), by_plugin: Mutex::default() }
    }

    fn with<R>(&self, f: impl FnOnce(&mut HashMap<String, Health>) -> R) -> R {
        let mut map = self.by_plugin.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let r = f(&mut map);
        self.tracked.store(map.len(), Ordering::Release);
        r
    }

    /// Whether a request to `plugin` may be forwarded now.
    pub fn admit(&self, plugin: &str) -> Admission {
        if self.tracked.load(Ordering::Acquire) == 0 {
            return Admission::Pass;
        }
        let now = Instant::now();
        self.with(|map| match map.get_mut(plugin).and_then(|h| h.until.map(|u| (h, u))) {
            Some((_, until)) if until > now => Admission::Ejected(until - now),
            Some((h, _)) => {
                // The ejection is over: this request is the trial.
                h.until = None;
                Admission::Pass
            }
            None => Admission::Pass,
        })
    }

    /// Records a connection failure; `true` when it ejected a plugin that was not ejected
    /// before (so the registry is told once per outage, not per request).
    pub fn failed(&self, plugin: &str) -> bool {
        if self.after == 0 {
            return false;
        }
        self.with(|map| {
            let h = map.entry(plugin.to_owned()).or_default();
            h.failures = h.failures.saturating_add(1);
            if h.failures < self.after || h.until.is_some() {
                return false;
            }
            h.ejections = h.ejections.saturating_add(1);
            let ejection = self.base.saturating_mul(h.ejections).min(self.max);
            h.until = Some(Instant::now() + ejection);
            tracing::warn!(
                plugin,
                failures = h.failures,
                ejection_ms = ejection.as_millis() as u64,
                "Plugin ejected: keel's sidecar could not reach it on live traffic"
            );
            h.ejections == 1
        })
    }

    /// Records an answer from `plugin` (whatever its status): it is reachable.
    pub fn succeeded(&self, plugin: &str) {
        if self.tracked.load(Ordering::Acquire) == 0 {
            return;
        }
        self.with(|map| {
            if let Some(h) = map.remove(plugin) {
                if h.ejections > 0 {
                    tracing::info!(plugin, "Plugin readmitted: it answered again");
                }
            }
        });
    }

    /// A new table is in use: readmits the ejected plugins the registry has seen go down and
    /// come back, and forgets those no longer registered.
    pub fn table_installed(&self, table: &RouteTable) {
        if self.tracked.load(Ordering::Acquire) == 0 {
            return;
        }
        self.with(|map| {
            map.retain(|plugin, h| {
                let status = table
                    .plugins
                    .get(plugin)
                    .map(|e| e.status)
                    .or_else(|| table.services.get(plugin).map(|s| s.status));
                match status {
                    None => false,
                    Some(PluginStatus::Active) if h.seen_down => {
                        tracing::info!(plugin, "Plugin readmitted: the registry reports it ACTIVE again");
                        false
                    }
                    Some(PluginStatus::Active) => true,
                    Some(_) => {
                        h.seen_down |= h.ejections > 0;
                        true
                    }
                }
            })
        });
    }
}

/// Tells the registry that keel ejected `plugin`, so its next poll probes it at once and
/// marks it `UNREACHABLE` if that poll fails too. Best effort: failures are logged only.
pub async fn report(dapr: DaprClient, plugin: String) {
    let dapr = dapr.with_timeout(REPORT_TIMEOUT);
    let path = suspect_path(&plugin);
    match dapr.invoke::<()>(Method::POST, REGISTRY_APP_ID, &path, None).await {
        Ok(answer) if answer.status.is_success() => tracing::debug!(plugin, "Registry told of the ejection"),
        Ok(answer) => tracing::warn!(
            plugin,
            status = answer.status.as_u16(),
            "The registry refused the ejection report"
        ),
        Err(error) => tracing::warn!(plugin, %error, "Could not tell the registry of the ejection"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outliers() -> Outliers {
        Outliers::new(3, Duration::from_millis(50), Duration::from_millis(120))
    }

    #[test]
    fn three_failures_in_a_row_eject_and_an_answer_between_resets() {
        let o = outliers();
        assert!(!o.failed("p"));
        assert!(!o.failed("p"));
        o.succeeded("p");
        assert!(!o.failed("p"));
        assert!(!o.failed("p"));
        assert_eq!(o.admit("p"), Admission::Pass);
        assert!(o.failed("p"), "the third in a row ejects, and says so once");
        assert!(matches!(o.admit("p"), Admission::Ejected(d) if d <= Duration::from_millis(50)));
        assert!(!o.failed("p"), "already ejected: the registry was told");
        assert_eq!(o.admit("other"), Admission::Pass);
    }

    #[test]
    fn after_the_ejection_one_trial_passes_and_a_failure_ejects_again_for_longer() {
        let o = outliers();
        (0..3).for_each(|_| {
            o.failed("p");
        });
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(o.admit("p"), Admission::Pass, "the trial");
        assert!(!o.failed("p"), "a second ejection is not reported again");
        assert!(matches!(o.admit("p"), Admission::Ejected(d) if d > Duration::from_millis(50)));
        std::thread::sleep(Duration::from_millis(130));
        assert_eq!(o.admit("p"), Admission::Pass);
        o.succeeded("p");
        assert_eq!(o.tracked.load(Ordering::Acquire), 0, "a success forgets it");
    }

    #[test]
    fn the_registry_seeing_it_down_then_active_readmits_it() {
        let o = outliers();
        (0..3).for_each(|_| {
            o.failed("p");
        });
        let mut table = RouteTable::default();
        let entry = |status| keel_sdk::protocol::RouteEntry::new(status, "1.0.0");
        table.plugins.insert("p".into(), entry(PluginStatus::Active));
        o.table_installed(&table);
        assert!(
            matches!(o.admit("p"), Admission::Ejected(_)),
            "ACTIVE before the registry noticed: still out"
        );
        table.plugins.insert("p".into(), entry(PluginStatus::Unreachable));
        o.table_installed(&table);
        table.plugins.insert("p".into(), entry(PluginStatus::Active));
        o.table_installed(&table);
        assert_eq!(o.admit("p"), Admission::Pass);
        (0..3).for_each(|_| {
            o.failed("q");
        });
        o.table_installed(&RouteTable::default());
        assert_eq!(o.tracked.load(Ordering::Acquire), 0, "unregistered plugins are forgotten");
    }

    #[test]
    fn zero_disables_it() {
        let o = Outliers::new(0, Duration::from_secs(1), Duration::from_secs(1));
        (0..10).for_each(|_| {
            o.failed("p");
        });
        assert_eq!(o.admit("p"), Admission::Pass);
    }
}
