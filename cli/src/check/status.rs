//! `GET /v1/status`, called a few times as the registry polls it: HTTP 200, the envelope, a
//! status the platform knows, `ACTIVE` to receive traffic, and answers well within the poll's
//! limit.

use std::time::Duration;

use awc::http::Method;
use keel_sdk::protocol::{PluginStatus, Reply, StatusResponse};

use super::answer::{self, quote, Checks};
use super::probe::{Answer, Probe};
use super::{Checked, Findings, STATUS_LIMIT};

/// How many polls are made.
pub const POLLS: usize = 3;

const CHECKS: Checks = Checks {
    endpoint: "GET /v1/status",
    setting: "poll_timeout_ms",
    unreachable: "status.unreachable",
    timeout: "status.timeout",
    slow: "status.slow",
    not_json: "status.not-json",
    content_type: "status.content-type",
    no_envelope: "status.no-envelope",
    refused: "status.refused",
};

/// Polls the status [`POLLS`] times.
pub async fn check(probe: &Probe, f: &mut Findings, checked: &mut Vec<Checked>) {
    let mut times = Vec::new();
    let mut seen = None;
    for _ in 0..POLLS {
        match probe.call(Method::GET, "v1/status", None, STATUS_LIMIT).await {
            Ok(answer) => {
                times.push(answer.elapsed);
                seen = judge(&answer, f).or(seen);
            }
            Err(e) => {
                answer::no_answer(&CHECKS, &e, probe.via_sidecar(), f);
                return;
            }
        }
    }
    judge_times(&times, f);
    if let Some(status) = seen {
        checked.push(Checked { area: "status", summary: format!("{status} ({})", times_summary(&times)) });
    }
}

/// Warns when the polls' median answer time is over half the poll's limit: one slow poll in
/// [`POLLS`] is noise the registry's poller absorbs (three failures in a row mark a plugin
/// down), a slow median is the plugin's habit.
pub fn judge_times(times: &[Duration], f: &mut Findings) {
    let mut sorted = times.to_vec();
    sorted.sort();
    if let Some(median) = sorted.get(sorted.len() / 2) {
        answer::slow(&CHECKS, *median, STATUS_LIMIT, f);
    }
}

/// Judges one status answer (its time is judged with the others', [`judge_times`]); the status
/// when it is one the registry reads.
pub fn judge(answer: &Answer, f: &mut Findings) -> Option<PluginStatus> {
    if answer.status != 200 {
        f.error(
            "status.http-status",
            format!("GET /v1/status answered HTTP {}: {}", answer.status, quote(&answer.body)),
            "answer HTTP 200 with {\"ret\": 0, \"msg\": \"ok\", \"status\": \"ACTIVE\"}: any other answer counts as a failed poll, and three in a row make the plugin UNREACHABLE",
        );
        return None;
    }
    let value = answer::protocol_json(&CHECKS, answer, None, f)?;
    let status = match serde_json::from_value::<Reply<StatusResponse>>(value.clone()) {
        Ok(reply) => reply.body.status,
        Err(_) => {
            let given = value.get("status").map(|s| s.to_string()).unwrap_or_else(|| "missing".to_owned());
            f.error(
                "status.value",
                format!("GET /v1/status: status is {given}, not one of ACTIVE, STARTING, STOPPING, FAILED"),
                "report \"status\" as one of ACTIVE, STARTING, STOPPING, FAILED, in capitals",
            );
            return None;
        }
    };
    match status {
        PluginStatus::Active => {}
        PluginStatus::Unreachable => f.error(
            "status.value",
            "GET /v1/status reports UNREACHABLE, which only the registry records",
            "report ACTIVE, STARTING, STOPPING or FAILED",
        ),
        other => f.warn(
            "status.not-active",
            format!("GET /v1/status reports {other}: the plugin would register, but receives no traffic until it reports ACTIVE"),
            "report ACTIVE once it serves (STOPPED is tKeel's, read as STOPPING)",
        ),
    }
    Some(status)
}

/// `3 polls: 2, 1, 1 ms`.
fn times_summary(times: &[Duration]) -> String {
    let ms: Vec<String> = times.iter().map(|t| t.as_millis().to_string()).collect();
    format!("{} polls: {} ms", times.len(), ms.join(", "))
}
