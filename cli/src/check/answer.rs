//! What every protocol answer is held to, whatever the endpoint: reachable within its limit,
//! JSON, the `{"ret", "msg"}` envelope at the top level, `ret == 0`.

use std::time::Duration;

use keel_sdk::service::snippet;
use serde_json::Value;

use super::probe::{Answer, CallError};
use super::Findings;

/// Names of one endpoint's findings (`<area>.<what>`), so each area's are stable.
pub struct Checks {
    /// `GET /v1/identify`, as messages name it.
    pub endpoint: &'static str,
    /// The registry setting that limits it.
    pub setting: &'static str,
    pub unreachable: &'static str,
    pub timeout: &'static str,
    pub slow: &'static str,
    pub not_json: &'static str,
    pub content_type: &'static str,
    pub no_envelope: &'static str,
    pub refused: &'static str,
}

/// A bounded quote of a body, saying so when it is empty.
pub fn quote(body: &[u8]) -> String {
    match snippet(body.trim_ascii()) {
        text if text.is_empty() => "(empty body)".to_owned(),
        text => text,
    }
}

/// The finding for a call that got no answer.
pub fn no_answer(c: &Checks, error: &CallError, via_sidecar: bool, f: &mut Findings) {
    match error {
        CallError::Timeout(limit) => f.error(
            c.timeout,
            format!("{} gave no answer within {} ms", c.endpoint, limit.as_millis()),
            format!(
                "answer it within the registry's limit ({}, {} ms by default); do slow work elsewhere",
                c.setting,
                limit.as_millis()
            ),
        ),
        other => {
            let fix = match (other, via_sidecar) {
                (CallError::Sidecar { status: 403, .. }, _) => "the plugin's access policy (config/plugin.yaml) accepts calls from keel and the registry only: check through the plugin's own sidecar (a plugin calling itself is not subject to it) or keel's (DAPR_HTTP_PORT, with that sidecar's DAPR_API_TOKEN), or the app's URL directly",
                (CallError::Sidecar { .. }, _) => "start the plugin behind a sidecar with this app-id (`dapr run --app-id <id> --app-port <port> -- <command>`), and check that the app listens on the sidecar's --app-port",
                (_, true) => "start a sidecar for this machine and point DAPR_HTTP_PORT at it (with DAPR_API_TOKEN when it requires one), or check the app's URL directly: keelctl plugin check http://127.0.0.1:<app port>",
                (_, false) => "start the plugin and give the address its app port listens on",
            };
            f.error(c.unreachable, format!("{}: {}", c.endpoint, other.describe()), fix);
        }
    }
}

/// Checks an answer that must be a successful protocol answer: `ok_status` for its HTTP status
/// (checked by the caller), then JSON, the envelope and `ret == 0`; `limit`, when given, is the
/// answer's time limit, and an answer slower than half of it is warned about. Returns the
/// document when it is JSON with `ret == 0` (or no `ret`, which the registry reads as 0).
pub fn protocol_json(
    c: &Checks,
    answer: &Answer,
    limit: Option<Duration>,
    f: &mut Findings,
) -> Option<Value> {
    if let Some(limit) = limit {
        slow(c, answer.elapsed, limit, f);
    }
    let value: Value = match serde_json::from_slice(&answer.body) {
        Ok(v @ Value::Object(_)) => v,
        Ok(_) | Err(_) => {
            f.error(
                c.not_json,
                format!("{} answered {}, not a JSON object", c.endpoint, quote(&answer.body)),
                "answer a JSON object with the envelope, {\"ret\": 0, \"msg\": \"ok\", ...} (platform.md §2)",
            );
            return None;
        }
    };
    content_type(c, answer, f);
    match (value.get("ret"), value.get("msg")) {
        (Some(ret), _) if !ret.is_i64() => {
            f.error(
                c.no_envelope,
                format!("{}: \"ret\" is {ret}, not an integer", c.endpoint),
                "send \"ret\": 0 (a number) on success",
            );
            return None;
        }
        (Some(ret), msg) if ret.as_i64() != Some(0) => {
            let msg = msg.and_then(Value::as_str).unwrap_or("");
            f.error(
                c.refused,
                format!(
                    "{} answered ret {ret} ({msg:?}): the registry takes any ret but 0 as a failure",
                    c.endpoint
                ),
                "answer \"ret\": 0 when the call succeeds",
            );
            return None;
        }
        (Some(_), Some(Value::String(_))) => {}
        _ => f.warn(
            c.no_envelope,
            format!(
                "{} has no {{\"ret\", \"msg\"}} envelope (the registry reads a missing ret as 0)",
                c.endpoint
            ),
            "add \"ret\": 0, \"msg\": \"ok\" at the top level of every answer (platform.md §2)",
        ),
    }
    Some(value)
}

/// Warns about an answer time slower than half its limit.
pub fn slow(c: &Checks, elapsed: Duration, limit: Duration, f: &mut Findings) {
    if elapsed > limit / 2 {
        f.warn(
            c.slow,
            format!(
                "{} took {} ms; the registry gives up after {} ms ({})",
                c.endpoint,
                elapsed.as_millis(),
                limit.as_millis(),
                c.setting
            ),
            "answer from memory: compute the document once at start-up",
        );
    }
}

fn content_type(c: &Checks, answer: &Answer, f: &mut Findings) {
    let json = answer
        .content_type
        .as_deref()
        .is_some_and(|t| t.trim().to_ascii_lowercase().starts_with("application/json"));
    if !json {
        f.warn(
            c.content_type,
            format!(
                "{} is JSON but says content-type {}",
                c.endpoint,
                answer.content_type.as_deref().unwrap_or("(none)")
            ),
            "send content-type: application/json",
        );
    }
}
