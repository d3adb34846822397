//! Answers that are not successes, read the way an operator needs them: the platform's refusals
//! (the catalogue's [`ErrorBody`]) with their message in the CLI's words and advice by code, and
//! the answers of things that are not keel's public port — a Dapr sidecar's API, keel's app port,
//! any other server — turned into a hint about `--url` instead of a raw 404.
//!
//! [`decode`] decides, in this order:
//! 1. a catalogue body from keel's app port (`ERR_NO_CALLER`, `ERR_APP_TOKEN`): not the public
//!    port;
//! 2. any other catalogue body: a [`Refusal`], its `msg` [`translate`]d and [`advice`] added;
//! 3. a Dapr API error body (`{"errorCode", "message"}`): a sidecar's port;
//! 4. a 404 without keel's `x-keel-error` header: not keel at all;
//! 5. anything else: a refusal quoting what it can (an envelope's `msg`, an OAuth error, the text).

use keel_sdk::dapr::DaprErrorBody;
use keel_sdk::protocol::errors::Code;
use keel_sdk::protocol::ErrorBody;
use serde::Deserialize;

use crate::error::{CliError, Refusal};

/// keel's public port by default: what the hints suggest.
pub const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:8000";

/// An error answer as received.
#[derive(Debug, Clone, Copy)]
pub struct Answer<'a> {
    /// keel's URL as given (`--url`).
    pub url: &'a str,
    /// The core service the request was for (`plugins`, `auth`).
    pub target: &'a str,
    /// The HTTP status.
    pub status: u16,
    /// Whether it carried `x-keel-error` (keel's or a core service's own refusal).
    pub keel_error: bool,
    /// The body.
    pub body: &'a [u8],
}

/// What a non-2xx answer means for the operator.
pub fn decode(a: Answer<'_>) -> CliError {
    if let Ok(body) = serde_json::from_slice::<ErrorBody>(a.body) {
        return catalogue(a, body);
    }
    if let Ok(dapr) = serde_json::from_slice::<DaprErrorBody>(a.body) {
        return CliError::NotKeel {
            url: a.url.to_owned(),
            hint: format!(
                "it answered like a Dapr sidecar's HTTP API ({} {}: {}). Point --url (or KEEL_URL) \
                 at keel's public port ({DEFAULT_PUBLIC_URL} by default), not at a sidecar",
                a.status, dapr.error_code, dapr.message
            ),
        };
    }
    if a.status == 404 && !a.keel_error {
        return CliError::NotKeel {
            url: a.url.to_owned(),
            hint: format!(
                "it answered 404 for /apis/{}/... without keel's x-keel-error header, so it is not \
                 keel (or not its public port). Point --url (or KEEL_URL) at keel's public port \
                 ({DEFAULT_PUBLIC_URL} by default)",
                a.target
            ),
        };
    }
    Refusal {
        status: a.status,
        msg: translate(&loose_message(a.status, a.body)),
        code: None,
        plugin: None,
        target: a.target.to_owned(),
        advice: None,
    }
    .into()
}

/// A catalogue refusal.
fn catalogue(a: Answer<'_>, body: ErrorBody) -> CliError {
    if [Code::NoCaller.name(), Code::AppToken.name()].contains(&body.code.as_str()) {
        return CliError::NotKeel {
            url: a.url.to_owned(),
            hint: format!(
                "it answered like keel's app port, which only keel's own sidecar may call ({}: {}). \
                 Point --url (or KEEL_URL) at keel's public port ({DEFAULT_PUBLIC_URL} by default)",
                body.code, body.msg
            ),
        };
    }
    let mut refusal = Refusal {
        status: a.status,
        msg: translate(&body.msg),
        code: Some(body.code),
        plugin: body.plugin,
        target: a.target.to_owned(),
        advice: None,
    };
    refusal.advice = advice(&refusal);
    refusal.into()
}

/// The platform's message in the CLI's words: the API's query parameters and endpoints that
/// keelctl has a flag or a command for are replaced by them.
pub fn translate(msg: &str) -> String {
    let mut out = msg.replace("?force=true", "--force");
    // "unregister it first (DELETE /v1/plugins/echo) to ..."
    while let Some(at) = out.find("DELETE /v1/plugins/") {
        let rest = &out[at + "DELETE /v1/plugins/".len()..];
        let id_len = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '-')).unwrap_or(rest.len());
        let id = rest[..id_len].to_owned();
        out.replace_range(
            at..at + "DELETE /v1/plugins/".len() + id_len,
            &format!("keelctl plugins unregister {id}"),
        );
    }
    out.replace("with POST /v1/roles", "with `keelctl roles create`")
}

/// What keelctl adds to a refusal, by its code, whatever the command.
pub fn advice(r: &Refusal) -> Option<String> {
    let code = Code::from_name(r.code.as_deref()?)?;
    let service = match r.target.as_str() {
        "plugins" => "the registry (app-id plugins)",
        "auth" => "auth (app-id auth)",
        other => other,
    };
    Some(match code {
        Code::Unauthenticated => {
            "your login has expired or was revoked: run `keelctl login -u <user>` again".into()
        }
        Code::UnknownPlugin if r.is_about_target() => format!(
            "keel has no route to {service} yet: the platform is still starting (the registry registers \
             the core services at boot), or {service} is not running"
        ),
        Code::PluginNotActive | Code::PluginUnreachable | Code::PluginTimeout if r.is_about_target() => {
            format!(
                "keel cannot use {service} right now: check that it and its sidecar run (its log says why)"
            )
        }
        Code::NotReady => "keel is starting and has no route table yet: retry in a few seconds".into(),
        _ => return None,
    })
}

/// The most useful text in an answer that is not a catalogue body: an envelope's `msg`, an
/// OAuth error's description, a `message`, or the text itself.
fn loose_message(status: u16, body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Loose {
        msg: Option<String>,
        error_description: Option<String>,
        error: Option<String>,
        message: Option<String>,
    }
    let loose = serde_json::from_slice::<Loose>(body).ok();
    loose
        .and_then(|l| l.msg.or(l.error_description).or(l.error).or(l.message))
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| {
            let text = String::from_utf8_lossy(&body[..body.len().min(300)]).trim().to_owned();
            if text.is_empty() {
                awc::http::StatusCode::from_u16(status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("error")
                    .to_owned()
            } else {
                text
            }
        })
}

#[cfg(test)]
mod tests;
