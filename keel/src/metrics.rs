//! Request metrics, served on the admin port in the OpenMetrics text format by
//! `prometheus-client`: a latency histogram and a request counter per target plugin and status
//! class, keel's refusals by code, requests in flight, and the route table in use.
//!
//! Only plugins found in the route table get their own series (label `plugin="-"` covers the
//! rest), so callers cannot grow the label set with made-up ids.

use std::fmt;
use std::time::Duration;

use actix_web::http::StatusCode;
use prometheus_client::encoding::{text, EncodeLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use super::routes::Routes;
use keel_sdk::protocol::errors::Code;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 14] =
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// The label for requests that did not resolve to a registered plugin.
pub const UNROUTED: &str = "-";
/// The content type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The labels of a request's series.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    /// The registered target plugin, or [`UNROUTED`].
    plugin: String,
    /// `1xx` ... `5xx`.
    class: &'static str,
}

/// The label of a refusal's series.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RefusalLabels {
    /// The catalogue name, `ERR_...`.
    code: &'static str,
}

type Histograms = Family<RequestLabels, Histogram, fn() -> Histogram>;

/// Everything the router counts.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Histograms,
    refusals: Family<RefusalLabels, Counter>,
    in_flight: Gauge,
    routes_loaded: Gauge,
    routes_version: Gauge,
    routes_plugins: Gauge,
}

/// Counts a request as in flight until dropped (also when the client went away mid-request).
pub struct InFlight<'a>(&'a Gauge);

// === impl Metrics ===

impl Default for Metrics {
    fn default() -> Self {
        let m = Self {
            registry: Registry::default(),
            requests: Family::default(),
            durations: Histograms::new_with_constructor(|| Histogram::new(BUCKETS)),
            refusals: Family::default(),
            in_flight: Gauge::default(),
            routes_loaded: Gauge::default(),
            routes_version: Gauge::default(),
            routes_plugins: Gauge::default(),
        };
        m.register()
    }
}

impl Metrics {
    /// Names every metric once, in the order they are rendered.
    fn register(mut self) -> Self {
        let r = &mut self.registry;
        // Counters get their `_total` suffix from the encoder.
        r.register(
            "keel_requests",
            "Requests keel answered, by target plugin and status class",
            self.requests.clone(),
        );
        r.register_with_unit(
            "keel_request_duration",
            "Time from a request's arrival to its response head, by target plugin and status class",
            Unit::Seconds,
            self.durations.clone(),
        );
        r.register(
            "keel_refusals",
            "Requests keel refused or failed itself, by error code",
            self.refusals.clone(),
        );
        r.register("keel_requests_in_flight", "Requests being forwarded now", self.in_flight.clone());
        r.register("keel_routes_loaded", "1 once a route table is loaded", self.routes_loaded.clone());
        r.register("keel_routes_version", "Version of the route table in use", self.routes_version.clone());
        r.register("keel_routes_plugins", "Plugins in the route table in use", self.routes_plugins.clone());
        self
    }

    /// Records one answered request. `plugin` is the registered target, if it resolved to one.
    pub fn observe(&self, plugin: Option<String>, status: StatusCode, elapsed: Duration) {
        let labels =
            RequestLabels { plugin: plugin.unwrap_or_else(|| UNROUTED.to_owned()), class: class(status) };
        self.requests.get_or_create(&labels).inc();
        self.durations.get_or_create(&labels).observe(elapsed.as_secs_f64());
    }

    /// Counts one of keel's own refusals by its code.
    pub fn refused(&self, code: Code) {
        self.refusals.get_or_create(&RefusalLabels { code: code.name() }).inc();
    }

    /// Counts a request in flight for as long as the guard lives.
    pub fn in_flight(&self) -> InFlight<'_> {
        self.in_flight.inc();
        InFlight(&self.in_flight)
    }

    /// The text exposition: the route table's gauges brought up to date, then everything
    /// encoded.
    pub fn render(&self, routes: &Routes) -> Result<String, fmt::Error> {
        self.observe_table(routes);
        let mut out = String::with_capacity(4096);
        text::encode(&mut out, &self.registry)?;
        Ok(out)
    }

    /// Sets the route table's gauges from the table in use.
    fn observe_table(&self, routes: &Routes) {
        let table = routes.current();
        self.routes_loaded.set(i64::from(table.is_some()));
        self.routes_version.set(table.as_ref().map_or(0, |t| i64::try_from(t.version).unwrap_or(i64::MAX)));
        self.routes_plugins
            .set(table.as_ref().map_or(0, |t| i64::try_from(t.plugins.len()).unwrap_or(i64::MAX)));
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The status class label.
fn class(status: StatusCode) -> &'static str {
    match status.as_u16() / 100 {
        0 | 1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        _ => "5xx",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_sdk::protocol::RouteTable;

    #[test]
    fn histograms_and_counters_are_rendered_per_plugin_and_class() {
        let m = Metrics::default();
        let echo = || Some("echo".to_owned());
        m.observe(echo(), StatusCode::OK, Duration::from_micros(300));
        m.observe(echo(), StatusCode::OK, Duration::from_millis(20));
        m.observe(echo(), StatusCode::BAD_GATEWAY, Duration::from_secs(60));
        m.observe(None, StatusCode::NOT_FOUND, Duration::from_millis(1));
        m.refused(Code::UnknownPlugin);
        m.refused(Code::UnknownPlugin);
        let guard = m.in_flight();
        let routes = Routes::default();
        routes.apply(RouteTable { version: 7, ..Default::default() });
        let text = m.render(&routes).unwrap();
        for line in [
            "keel_requests_total{plugin=\"echo\",class=\"2xx\"} 2",
            "keel_requests_total{plugin=\"echo\",class=\"5xx\"} 1",
            "keel_requests_total{plugin=\"-\",class=\"4xx\"} 1",
            "keel_request_duration_seconds_bucket{le=\"0.0005\",plugin=\"echo\",class=\"2xx\"} 1",
            "keel_request_duration_seconds_bucket{le=\"0.025\",plugin=\"echo\",class=\"2xx\"} 2",
            "keel_request_duration_seconds_bucket{le=\"10.0\",plugin=\"echo\",class=\"5xx\"} 0",
            "keel_request_duration_seconds_bucket{le=\"+Inf\",plugin=\"echo\",class=\"5xx\"} 1",
            "keel_request_duration_seconds_count{plugin=\"echo\",class=\"2xx\"} 2",
            "keel_refusals_total{code=\"ERR_UNKNOWN_PLUGIN\"} 2",
            "keel_requests_in_flight 1",
            "keel_routes_version 7",
            "keel_routes_loaded 1",
            "keel_routes_plugins 0",
            "# EOF",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
        assert!(!text.contains("class=\"3xx\""));
        drop(guard);
        assert!(m.render(&routes).unwrap().lines().any(|l| l == "keel_requests_in_flight 0"));
    }
}
