//! `POST /v1/addons/identify`, for plugins that offer points: a synthetic implementer asks to
//! implement every point (the registry's request, as it sends it), then a body that is not an
//! addons-identify request, which must not be taken for a yes.

use awc::http::Method;
use bytes::Bytes;
use keel_sdk::protocol::{AddonsIdentifyRequest, ImplementedEndpoint, PluginRef, ValidIdentify};
use serde_json::Value;

use super::answer::{self, quote, Checks};
use super::probe::{Answer, Probe};
use super::{ms, Checked, Findings, ADDONS_LIMIT};

/// The implementer the synthetic request names.
pub const SYNTHETIC_ID: &str = "keelctl-check";

const CHECKS: Checks = Checks {
    endpoint: "POST /v1/addons/identify",
    setting: "addons_identify_timeout_ms",
    unreachable: "addons.unreachable",
    timeout: "addons.timeout",
    slow: "addons.slow",
    not_json: "addons.not-json",
    content_type: "addons.content-type",
    no_envelope: "addons.no-envelope",
    refused: "addons.refused",
};

/// The request the registry would send for an implementer of every point of `valid`.
pub fn synthetic_request(valid: &ValidIdentify) -> AddonsIdentifyRequest {
    AddonsIdentifyRequest {
        plugin: PluginRef { id: SYNTHETIC_ID.to_owned(), version: "1.0.0".to_owned() },
        endpoint: valid
            .doc
            .addons
            .iter()
            .map(|p| ImplementedEndpoint {
                addons_point: p.endpoint.clone(),
                endpoint: format!("hooks/{}", p.endpoint),
            })
            .collect(),
    }
}

/// Runs both requests when the plugin offers points.
pub async fn check(probe: &Probe, valid: &ValidIdentify, f: &mut Findings, checked: &mut Vec<Checked>) {
    if valid.doc.addons.is_empty() {
        return;
    }
    let body = serde_json::to_vec(&synthetic_request(valid)).unwrap_or_default();
    let answer =
        match probe.call(Method::POST, "v1/addons/identify", Some(Bytes::from(body)), ADDONS_LIMIT).await {
            Ok(answer) => answer,
            Err(e) => return answer::no_answer(&CHECKS, &e, probe.via_sidecar(), f),
        };
    let Some(verdict) = judge(&answer, f) else { return };
    let malformed = Bytes::from_static(br#"{"plugin": "not an object", "endpoint": 7}"#);
    let garbage = probe.call(Method::POST, "v1/addons/identify", Some(malformed), ADDONS_LIMIT).await;
    if let Ok(garbage) = garbage {
        judge_malformed(&garbage, f);
    }
    checked.push(Checked {
        area: "addons",
        summary: format!("{verdict} the synthetic implementer {SYNTHETIC_ID} ({} ms)", ms(answer.elapsed)),
    });
}

/// Judges the answer to the synthetic request: `accepted` or `refused`, or `None` when it is
/// not an answer the registry can use.
pub fn judge(answer: &Answer, f: &mut Findings) -> Option<&'static str> {
    match answer.status {
        404 | 405 => {
            f.error(
                "addons.not-served",
                format!(
                    "the plugin offers points but POST /v1/addons/identify answered HTTP {}: no plugin can register as their implementer",
                    answer.status
                ),
                "serve POST /v1/addons/identify, answering {\"ret\": 0, \"msg\": \"ok\"} to accept an implementer (the Rust kit does for every PluginSpec::addon_point)",
            );
            None
        }
        500.. => {
            f.error(
                "addons.http-status",
                format!("POST /v1/addons/identify failed with HTTP {}: {}", answer.status, quote(&answer.body)),
                "accept the request of platform.md §2 ({\"plugin\": {\"id\", \"version\"}, \"endpoint\": [{\"addons_point\", \"endpoint\"}]}) and answer with the envelope",
            );
            None
        }
        200..=299 => {
            let mut inner = Findings::default();
            let ok = answer::protocol_json(&CHECKS, answer, Some(ADDONS_LIMIT), &mut inner);
            // A refusal (ret != 0) is the plugin's right: tell the author, not as an error.
            for finding in inner.0 {
                if finding.check == CHECKS.refused {
                    refused(answer, f);
                    return Some("refused");
                }
                if finding.check == CHECKS.not_json {
                    f.warn(
                        "addons.no-envelope",
                        format!("POST /v1/addons/identify answered {} without the envelope; the registry takes it as a yes", quote(&answer.body)),
                        "answer {\"ret\": 0, \"msg\": \"ok\"} to accept, or a non-zero ret with a msg to refuse",
                    );
                    return Some("accepted");
                }
                f.push(finding.severity, finding.check, finding.message, finding.fix);
            }
            ok.map(|_| "accepted")
        }
        _ => {
            refused(answer, f);
            Some("refused")
        }
    }
}

/// A refusal of the synthetic implementer: fine if meant, and its `msg` must say why.
fn refused(answer: &Answer, f: &mut Findings) {
    let msg = serde_json::from_slice::<Value>(&answer.body)
        .ok()
        .and_then(|v| v.get("msg").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_default();
    if msg.trim().is_empty() {
        f.warn(
            "addons.refused-silently",
            format!("POST /v1/addons/identify refused {SYNTHETIC_ID} (HTTP {}) with no msg", answer.status),
            "say why in \"msg\": it reaches whoever tried to register the implementer",
        );
    } else {
        f.warn(
            "addons.refused",
            format!("POST /v1/addons/identify refused the synthetic implementer {SYNTHETIC_ID}: {msg}"),
            "nothing, if the plugin means to refuse unknown implementers; otherwise answer {\"ret\": 0, \"msg\": \"ok\"}",
        );
    }
}

/// A body that is not an addons-identify request must be refused (a non-2xx status or a
/// non-zero `ret`): a yes to garbage is a yes to a caller's bug.
pub fn judge_malformed(answer: &Answer, f: &mut Findings) {
    if !(200..300).contains(&answer.status) {
        return;
    }
    let ret =
        serde_json::from_slice::<Value>(&answer.body).ok().and_then(|v| v.get("ret").and_then(Value::as_i64));
    if ret.unwrap_or(0) == 0 {
        f.warn(
            "addons.accepts-malformed",
            format!(
                "POST /v1/addons/identify accepted a body that is not an addons-identify request (HTTP {}: {})",
                answer.status,
                quote(&answer.body)
            ),
            "parse the request and refuse what does not parse (HTTP 400 or a non-zero ret, with a msg)",
        );
    }
}
