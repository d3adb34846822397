//! What a plugin does with what it does not expect: an unknown path (answered, and if refused,
//! refused with the envelope) and a large body (answered within the limit), after which it must
//! still answer `/v1/status`.

use awc::http::Method;
use bytes::Bytes;
use serde_json::Value;

use super::answer::quote;
use super::probe::{Answer, CallError, Probe};
use super::{Checked, Findings, PROBE_LIMIT, STATUS_LIMIT};

/// The path no plugin serves.
pub const UNKNOWN_PATH: &str = "keelctl-check/no-such-path";
/// Where the large body is sent.
pub const LARGE_PATH: &str = "keelctl-check/large-body";
/// The large body's size: 1 MiB, under the sidecars' default limit (4 MiB) so the plugin, not
/// its sidecar, answers.
pub const LARGE_BODY: usize = 1024 * 1024;

/// Runs the probes.
pub async fn check(probe: &Probe, f: &mut Findings, checked: &mut Vec<Checked>) {
    let mut summary = Vec::new();
    match probe.call(Method::GET, UNKNOWN_PATH, None, PROBE_LIMIT).await {
        Ok(answer) => {
            judge_unknown(&answer, f);
            summary.push(format!("unknown path: HTTP {}", answer.status));
        }
        Err(e) => no_answer("errors.unknown-path", &format!("GET /{UNKNOWN_PATH}"), &e, f),
    }
    let body = Bytes::from(large_body());
    match probe.call(Method::POST, LARGE_PATH, Some(body), PROBE_LIMIT).await {
        Ok(answer) => {
            summary.push(format!("1 MiB body: HTTP {} in {} ms", answer.status, answer.elapsed.as_millis()))
        }
        Err(e) => no_answer("errors.large-body", &format!("POST /{LARGE_PATH} with a 1 MiB body"), &e, f),
    }
    match probe.call(Method::GET, "v1/status", None, STATUS_LIMIT).await {
        Ok(answer) if answer.status == 200 => summary.push("still answering /v1/status".to_owned()),
        Ok(answer) => crashed(&format!("it answered HTTP {}", answer.status), f),
        Err(e) => crashed(&e.describe(), f),
    }
    checked.push(Checked { area: "errors", summary: summary.join("; ") });
}

/// A 1 MiB JSON document.
fn large_body() -> Vec<u8> {
    let mut body = Vec::with_capacity(LARGE_BODY);
    body.extend_from_slice(b"{\"pad\":\"");
    body.resize(LARGE_BODY - 2, b'x');
    body.extend_from_slice(b"\"}");
    body
}

/// An unknown path may be served (echo answers everything), but an error answer carries the
/// envelope with a non-zero `ret`.
pub fn judge_unknown(answer: &Answer, f: &mut Findings) {
    if (200..300).contains(&answer.status) {
        return;
    }
    let ret =
        serde_json::from_slice::<Value>(&answer.body).ok().and_then(|v| match (v.get("ret"), v.get("msg")) {
            (Some(ret), Some(Value::String(_))) => ret.as_i64(),
            _ => None,
        });
    match ret {
        None => f.warn(
            "errors.no-envelope",
            format!(
                "GET /{UNKNOWN_PATH} answered HTTP {} with {} instead of the envelope",
                answer.status,
                quote(&answer.body)
            ),
            "answer errors (unknown paths included) as {\"ret\": <non-zero>, \"msg\": \"<what went wrong>\"} with the HTTP status: every answer carries the envelope (platform.md §2)",
        ),
        Some(0) => f.warn(
            "errors.ret-zero",
            format!("GET /{UNKNOWN_PATH} answered HTTP {} with ret 0", answer.status),
            "a failure carries a non-zero ret: callers read ret, not only the HTTP status",
        ),
        Some(_) => {}
    }
}

fn no_answer(check: &'static str, what: &str, e: &CallError, f: &mut Findings) {
    f.error(
        check,
        format!("{what}: {}", e.describe()),
        "answer every request within its time limit, refusing what the plugin does not serve (404) or cannot take (413) rather than hanging or dropping the connection",
    );
}

fn crashed(how: &str, f: &mut Findings) {
    f.error(
        "errors.crashed",
        format!("after the unknown path and the large body, GET /v1/status failed: {how}"),
        "a request the plugin does not expect must not stop it: check its log for a crash or a stuck worker",
    );
}
