//! Talking to the registry the way the platform does, through its sidecar (`/v1.0/invoke/plugins/
//! method/...`, where the sidecar stamps `dapr-caller-app-id: plugins`, a core service allowed to
//! register): many registrations with bounded concurrency, timed, and paged listings.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// Largest listing body read (1,000 records of well under 1 KiB each).
const BODY_LIMIT: usize = 32 << 20;
/// Failures quoted in the report (the rest are only counted).
const QUOTED_FAILURES: usize = 5;

/// What registering a batch of plugins took.
#[derive(Debug, Clone, Default)]
pub struct Registered {
    /// Wall time from the first request sent to the last answer received.
    pub elapsed: Duration,
    /// Latency of each successful registration (`201`), sorted.
    pub latencies: Vec<Duration>,
    /// Registrations refused or failed.
    pub failed: usize,
    /// The first few failures, as `id: what`.
    pub failures: Vec<String>,
}

/// One plugin as listed by the registry.
#[derive(Debug, Clone)]
pub struct Listed {
    pub id: String,
    pub status: String,
    pub last_checked_ms: u64,
}

/// `<sidecar>/v1.0/invoke/plugins/method/v1/plugins`.
pub fn plugins_url(registry_sidecar: &str) -> String {
    format!("{registry_sidecar}/v1.0/invoke/plugins/method/v1/plugins")
}

/// Registers every id in `ids`, at most `concurrency` at once, each with a client secret of its
/// own when `secrets`, and times the whole batch.
pub async fn register_all(
    client: &awc::Client,
    url: &str,
    ids: &[String],
    concurrency: usize,
    secrets: bool,
) -> Registered {
    let ids: Rc<Vec<String>> = Rc::new(ids.to_vec());
    let next = Rc::new(Cell::new(0usize));
    let out = Rc::new(RefCell::new(Registered::default()));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency.max(1))
        .map(|_| {
            let (client, url, ids, next, out) =
                (client.clone(), url.to_owned(), ids.clone(), next.clone(), out.clone());
            actix_rt::spawn(async move {
                // Single-threaded runtime: taking the next index cannot race.
                while let Some(id) = ids.get(next.get()) {
                    next.set(next.get() + 1);
                    let sent = Instant::now();
                    let outcome = register(&client, &url, id, secrets).await;
                    let mut out = out.borrow_mut();
                    match outcome {
                        Ok(()) => out.latencies.push(sent.elapsed()),
                        Err(e) => {
                            out.failed += 1;
                            if out.failures.len() < QUOTED_FAILURES {
                                out.failures.push(format!("{id}: {e}"));
                            }
                        }
                    }
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.await;
    }
    let mut result = out.take();
    result.elapsed = started.elapsed();
    result.latencies.sort();
    result
}

async fn register(client: &awc::Client, url: &str, id: &str, secret: bool) -> Result<(), String> {
    let body = match secret {
        // Distinct per plugin, 34 characters, about the size of a generated client secret.
        true => json!({ "id": id, "secret": format!("{id}-client-secret-0123456789") }),
        false => json!({ "id": id }),
    };
    let mut res = client.post(url).send_json(&body).await.map_err(|e| e.to_string())?;
    if res.status().as_u16() == 201 {
        // Read the body so the connection goes back to the pool.
        let _ = res.body().limit(BODY_LIMIT).await;
        return Ok(());
    }
    let body = res.body().limit(BODY_LIMIT).await.unwrap_or_default();
    Err(format!("HTTP {} {}", res.status().as_u16(), String::from_utf8_lossy(&body).trim()))
}

/// Every registered plugin, page by page (`after` cursor), in id order.
pub async fn list(client: &awc::Client, url: &str) -> Result<Vec<Listed>, String> {
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page_url = match &after {
            Some(a) => format!("{url}?limit=1000&after={a}"),
            None => format!("{url}?limit=1000"),
        };
        let mut res = client.get(&page_url).send().await.map_err(|e| format!("GET {page_url}: {e}"))?;
        let body = res.body().limit(BODY_LIMIT).await.map_err(|e| format!("GET {page_url}: {e}"))?;
        if !res.status().is_success() {
            return Err(format!("GET {page_url}: HTTP {} {}", res.status(), String::from_utf8_lossy(&body)));
        }
        let page: Value =
            serde_json::from_slice(&body).map_err(|e| format!("GET {page_url}: not JSON ({e})"))?;
        let plugins = page.get("plugins").and_then(Value::as_array).cloned().unwrap_or_default();
        all.extend(plugins.iter().map(|p| Listed {
            id: text(p, "id"),
            status: text(p, "status"),
            last_checked_ms: p.get("last_checked_ms").and_then(Value::as_u64).unwrap_or(0),
        }));
        match page.get("next_after").and_then(Value::as_str) {
            Some(next) if !plugins.is_empty() => after = Some(next.to_owned()),
            _ => return Ok(all),
        }
    }
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or_default().to_owned()
}

/// The `q`-quantile (0..=1) of sorted `values`, or zero when there are none.
pub fn quantile(values: &[Duration], q: f64) -> Duration {
    if values.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((values.len() as f64 - 1.0) * q.clamp(0.0, 1.0)).round() as usize;
    values[rank.min(values.len() - 1)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_of_sorted_latencies() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(quantile(&v, 0.5), Duration::from_millis(51));
        assert_eq!(quantile(&v, 1.0), Duration::from_millis(100));
        assert_eq!(quantile(&[], 0.5), Duration::ZERO);
    }
}
