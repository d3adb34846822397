//! Request metrics in the Prometheus text format, served on the admin port: a latency histogram
//! (whose `_count` is the request counter) per target plugin and status class, keel's refusals by
//! reason, requests in flight, and the route table in use.
//!
//! Recording is a handful of relaxed atomic adds; a plugin's series is created the first time it
//! answers. Only plugins found in the route table get their own series (label `plugin="-"` covers
//! the rest), so callers cannot grow the label set with made-up ids.

use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use actix_web::http::StatusCode;
use dashmap::DashMap;

use super::routes::Routes;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 14] =
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];
/// The label for requests that did not resolve to a registered plugin.
const UNROUTED: &str = "-";

/// One latency histogram; counts per bucket are not cumulative (the text format adds them up).
#[derive(Default)]
struct Histogram {
    buckets: [AtomicU64; BUCKETS.len() + 1],
    sum_micros: AtomicU64,
}

/// A plugin's histograms, one per status class.
#[derive(Default)]
struct Series([Histogram; 5]);

/// Everything the router counts.
#[derive(Default)]
pub struct Metrics {
    plugins: DashMap<Box<str>, Series>,
    unrouted: Series,
    refusals: DashMap<&'static str, AtomicU64>,
    in_flight: AtomicI64,
}

// === impl Histogram ===

impl Histogram {
    fn record(&self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        let i = BUCKETS.iter().position(|b| secs <= *b).unwrap_or(BUCKETS.len());
        self.buckets[i].fetch_add(1, Relaxed);
        self.sum_micros.fetch_add(elapsed.as_micros().min(u128::from(u64::MAX)) as u64, Relaxed);
    }
}

// === impl Metrics ===

impl Metrics {
    /// Records one answered request. `plugin` is the registered target, if it resolved to one.
    pub fn observe(&self, plugin: Option<&str>, status: StatusCode, elapsed: Duration) {
        let class = usize::from((status.as_u16() / 100).clamp(1, 5) - 1);
        match plugin {
            None => self.unrouted.0[class].record(elapsed),
            Some(p) => match self.plugins.get(p) {
                Some(series) => series.0[class].record(elapsed),
                None => self.plugins.entry(p.into()).or_default().0[class].record(elapsed),
            },
        }
    }

    /// Counts one of keel's own refusals by its code.
    pub fn refused(&self, code: &'static str) {
        match self.refusals.get(code) {
            Some(n) => n.fetch_add(1, Relaxed),
            None => self.refusals.entry(code).or_default().fetch_add(1, Relaxed),
        };
    }

    /// A request started (+1) or finished (-1).
    pub fn in_flight(&self, delta: i64) {
        self.in_flight.fetch_add(delta, Relaxed);
    }

    /// The text exposition (format 0.0.4).
    pub fn render(&self, routes: &Routes) -> String {
        let mut out = String::with_capacity(4096);
        // Copy the numbers first: holding several map guards at once could deadlock a writer.
        let mut series: Vec<(Box<str>, [Counts; 5])> =
            self.plugins.iter().map(|e| (e.key().clone(), e.value().counts())).collect();
        series.sort_by(|a, b| a.0.cmp(&b.0));
        series.push((UNROUTED.into(), self.unrouted.counts()));

        out.push_str(
            "# HELP keel_requests_total Requests keel answered, by target plugin and status class.\n",
        );
        out.push_str("# TYPE keel_requests_total counter\n");
        for (p, classes) in &series {
            for (class, c) in CLASSES.iter().zip(classes).filter(|(_, c)| c.total > 0) {
                let _ = writeln!(out, "keel_requests_total{{plugin=\"{p}\",class=\"{class}\"}} {}", c.total);
            }
        }

        out.push_str("# HELP keel_request_duration_seconds Time from a request's arrival to its response head, by target plugin and status class.\n");
        out.push_str("# TYPE keel_request_duration_seconds histogram\n");
        for (p, classes) in &series {
            for (class, c) in CLASSES.iter().zip(classes).filter(|(_, c)| c.total > 0) {
                let labels = format!("plugin=\"{p}\",class=\"{class}\"");
                let mut cumulative = 0;
                for (i, n) in c.buckets.iter().enumerate() {
                    cumulative += n;
                    match BUCKETS.get(i) {
                        Some(le) => {
                            let _ = writeln!(
                                out,
                                "keel_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {cumulative}"
                            );
                        }
                        None => {
                            let _ = writeln!(
                                out,
                                "keel_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {cumulative}"
                            );
                        }
                    }
                }
                let _ = writeln!(
                    out,
                    "keel_request_duration_seconds_sum{{{labels}}} {}",
                    c.sum_micros as f64 / 1e6
                );
                let _ = writeln!(out, "keel_request_duration_seconds_count{{{labels}}} {}", c.total);
            }
        }

        out.push_str("# HELP keel_refusals_total Requests keel refused or failed itself, by error code.\n");
        out.push_str("# TYPE keel_refusals_total counter\n");
        let mut codes: Vec<_> = self.refusals.iter().map(|e| (*e.key(), e.value().load(Relaxed))).collect();
        codes.sort();
        for (code, n) in codes {
            let _ = writeln!(out, "keel_refusals_total{{code=\"{code}\"}} {n}");
        }

        let table = routes.current();
        let gauges = [
            ("keel_requests_in_flight", "Requests being forwarded now.", self.in_flight.load(Relaxed)),
            ("keel_routes_loaded", "1 once a route table is loaded.", i64::from(table.is_some())),
            (
                "keel_routes_version",
                "Version of the route table in use.",
                table.as_ref().map_or(0, |t| t.version as i64),
            ),
            (
                "keel_routes_plugins",
                "Plugins in the route table in use.",
                table.as_ref().map_or(0, |t| t.plugins.len() as i64),
            ),
        ];
        for (name, help, v) in gauges {
            let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}\n");
        }
        out
    }
}

/// A copy of one histogram's numbers.
struct Counts {
    buckets: [u64; BUCKETS.len() + 1],
    sum_micros: u64,
    total: u64,
}

impl Series {
    fn counts(&self) -> [Counts; 5] {
        self.0.each_ref().map(|h| {
            let buckets = h.buckets.each_ref().map(|b| b.load(Relaxed));
            Counts { buckets, sum_micros: h.sum_micros.load(Relaxed), total: buckets.iter().sum() }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_sdk::protocol::RouteTable;

    #[test]
    fn histograms_and_counters_are_rendered_per_plugin_and_class() {
        let m = Metrics::default();
        m.observe(Some("echo"), StatusCode::OK, Duration::from_micros(300));
        m.observe(Some("echo"), StatusCode::OK, Duration::from_millis(20));
        m.observe(Some("echo"), StatusCode::BAD_GATEWAY, Duration::from_secs(60));
        m.observe(None, StatusCode::NOT_FOUND, Duration::from_millis(1));
        m.refused("ERR_UNKNOWN_PLUGIN");
        m.refused("ERR_UNKNOWN_PLUGIN");
        let routes = Routes::default();
        routes.apply(RouteTable { version: 7, ..Default::default() });
        let text = m.render(&routes);
        for line in [
            "keel_requests_total{plugin=\"echo\",class=\"2xx\"} 2",
            "keel_requests_total{plugin=\"echo\",class=\"5xx\"} 1",
            "keel_requests_total{plugin=\"-\",class=\"4xx\"} 1",
            "keel_request_duration_seconds_bucket{plugin=\"echo\",class=\"2xx\",le=\"0.0005\"} 1",
            "keel_request_duration_seconds_bucket{plugin=\"echo\",class=\"2xx\",le=\"0.025\"} 2",
            "keel_request_duration_seconds_bucket{plugin=\"echo\",class=\"5xx\",le=\"10\"} 0",
            "keel_request_duration_seconds_bucket{plugin=\"echo\",class=\"5xx\",le=\"+Inf\"} 1",
            "keel_request_duration_seconds_count{plugin=\"echo\",class=\"2xx\"} 2",
            "keel_refusals_total{code=\"ERR_UNKNOWN_PLUGIN\"} 2",
            "keel_routes_version 7",
            "keel_routes_loaded 1",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
        assert!(!text.contains("class=\"3xx\""));
    }
}
