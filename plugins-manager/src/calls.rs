//! The registry's calls to other apps through its sidecar, each with its own time limit:
//! `/v1/identify`, `/v1/status`, `/v1/addons/identify` and the tenant hooks on plugins,
//! `PUT /v1/routes` on keel.
//! Each answer is checked the same way (reachable, HTTP status, `ret`, shape) and every failure
//! becomes a [`RegistryError`] that names the app-id, the endpoint and what was waited.

use actix_web::http::{Method, StatusCode};
use keel_sdk::dapr::{DaprClient, DaprError, Invoked};
use keel_sdk::protocol::{
    check_document_size, paths, AddonsIdentifyRequest, Envelope, Identify, PluginStatus, Reply, RouteTable,
    StatusResponse, TenantHook, ValidIdentify, AUTH_APP_ID, KEEL_APP_ID,
};
use keel_sdk::service::snippet;
use serde::Serialize;

use crate::config::Config;
use crate::error::RegistryError;
use crate::secret::Secret;

/// keel's method that takes the registry's route table pushes.
pub const KEEL_ROUTES_METHOD: &str = "v1/routes";

/// The body of `PUT /v1/clients/<id>` on auth.
#[derive(Serialize)]
struct ClientSecret<'a> {
    secret: &'a str,
    /// The registration attempt the credentials belong to (`crate::intents`).
    registration: &'a str,
}

/// Sidecar clients sharing one connection pool, one per time limit.
#[derive(Clone)]
pub struct Calls {
    identify: DaprClient,
    status: DaprClient,
    addons: DaprClient,
    push: DaprClient,
    auth: DaprClient,
    tenant: DaprClient,
}

impl Calls {
    /// Clients derived from `dapr` with the time limits of `cfg`.
    pub fn new(dapr: &DaprClient, cfg: &Config) -> Self {
        Self {
            identify: dapr.with_timeout(cfg.identify_timeout()),
            status: dapr.with_timeout(cfg.poll_timeout()),
            addons: dapr.with_timeout(cfg.addons_identify_timeout()),
            push: dapr.with_timeout(cfg.push_timeout()),
            auth: dapr.with_timeout(cfg.auth_timeout()),
            tenant: dapr.with_timeout(cfg.tenant_hook_timeout()),
        }
    }

    /// `GET /v1/identify` on `id`, checked and validated.
    pub async fn identify(&self, id: &str) -> Result<ValidIdentify, RegistryError> {
        let answer =
            call(&self.identify, Method::GET, id, paths::IDENTIFY, None, "identify_timeout_ms").await?;
        // Capped before parsing: the document is stored with the plugin's record.
        check_document_size(answer.body.len())
            .map_err(|e| RegistryError::MalformedIdentify { id: id.to_owned(), reason: e.to_string() })?;
        let reply: Reply<Identify> = answer
            .json()
            .map_err(|e| RegistryError::MalformedIdentify { id: id.to_owned(), reason: decode_reason(&e) })?;
        reply
            .body
            .validate()
            .map_err(|e| RegistryError::MalformedIdentify { id: id.to_owned(), reason: e.to_string() })
    }

    /// `GET /v1/status` on `id`, as a poll (limited by `poll_timeout_ms`).
    pub async fn status(&self, id: &str) -> Result<PluginStatus, RegistryError> {
        status_of(&self.status, id, "poll_timeout_ms").await
    }

    /// `GET /v1/status` on `id` during its registration: limited like the identify call, since a
    /// plugin being registered under load must not fail for the short patience of a poll.
    pub async fn status_at_registration(&self, id: &str) -> Result<PluginStatus, RegistryError> {
        status_of(&self.identify, id, "identify_timeout_ms").await
    }

    /// `POST /v1/addons/identify` on the extended plugin `main`: `Ok` when it accepts.
    pub async fn addons_identify(
        &self,
        main: &str,
        req: &AddonsIdentifyRequest,
    ) -> Result<(), RegistryError> {
        let body = serde_json::to_value(req).map_err(|e| RegistryError::Internal(e.to_string()))?;
        let refused = |msg: String| RegistryError::AddonsRefused { main: main.to_owned(), msg };
        match call(
            &self.addons,
            Method::POST,
            main,
            paths::ADDONS_IDENTIFY,
            Some(&body),
            "addons_identify_timeout_ms",
        )
        .await
        {
            Ok(_) => Ok(()),
            // An answer that is not a yes is a refusal, whatever its form: quote its message.
            Err(RegistryError::PluginHttp { status, msg, .. }) => {
                Err(refused(format!("HTTP {status}: {msg}")))
            }
            Err(RegistryError::PluginRefused { msg, .. }) => Err(refused(msg)),
            Err(other) => Err(other),
        }
    }

    /// `POST /v1/tenant/enable` or `/v1/tenant/disable` (`hook`, one of [`paths`]) on `id`:
    /// `Ok(true)` when the plugin accepted, `Ok(false)` when it does not serve the hook (404).
    pub async fn tenant_hook(
        &self,
        id: &str,
        hook: &'static str,
        body: &TenantHook,
    ) -> Result<bool, RegistryError> {
        let body = serde_json::to_value(body).map_err(|e| RegistryError::Internal(e.to_string()))?;
        match call(&self.tenant, Method::POST, id, hook, Some(&body), "tenant_hook_timeout_ms").await {
            Ok(_) => Ok(true),
            Err(RegistryError::PluginHttp { status: 404, .. }) => Ok(false),
            Err(other) => Err(other),
        }
    }

    /// `PUT /v1/clients/<id>` on auth: the plugin's client credentials, so the plugin (or an
    /// integrator holding its secret) can obtain tokens for its own id, tagged with the
    /// registration `attempt` they belong to. The body is never logged.
    pub async fn put_client(&self, id: &str, secret: &Secret, attempt: &str) -> Result<(), RegistryError> {
        let body = ClientSecret { secret: secret.expose(), registration: attempt };
        let failed = |reason: String| RegistryError::ClientCredentials { id: id.to_owned(), reason };
        match self.auth.invoke(Method::PUT, AUTH_APP_ID, &format!("v1/clients/{id}"), Some(&body)).await {
            Ok(answer) if answer.status.is_success() => Ok(()),
            Ok(answer) => {
                Err(failed(format!("auth answered HTTP {}: {}", answer.status.as_u16(), quote(&answer.body))))
            }
            Err(error) => Err(failed(error.to_string())),
        }
    }

    /// `DELETE /v1/clients/<id>` on auth, of the credentials of registration `attempt` only
    /// (`None`: whatever credentials `id` has). Safe to repeat. A failure is an error: the intent
    /// that asked for it stays, and is settled again later (`crate::reconcile`).
    pub async fn delete_client(&self, id: &str, attempt: Option<&str>) -> Result<(), RegistryError> {
        let path = match attempt {
            Some(tag) => format!("v1/clients/{id}?registration={tag}"),
            None => format!("v1/clients/{id}"),
        };
        let failed = |reason: String| RegistryError::ClientCredentials { id: id.to_owned(), reason };
        match self.auth.invoke::<()>(Method::DELETE, AUTH_APP_ID, &path, None).await {
            Ok(answer) if answer.status.is_success() => {
                tracing::debug!(plugin = id, "Client credentials removed from auth");
                Ok(())
            }
            Ok(answer) => Err(failed(format!(
                "auth refused to remove them: HTTP {}: {}",
                answer.status.as_u16(),
                quote(&answer.body)
            ))),
            Err(error) => Err(failed(format!("auth unreachable to remove them: {error}"))),
        }
    }

    /// `PUT /v1/routes` on keel. Failures are only logged: keel re-reads the table from the store
    /// on its own timer, so a lost push delays routing changes, it does not lose them.
    pub async fn push_routes(&self, table: &RouteTable) {
        let outcome = self.push.invoke(Method::PUT, KEEL_APP_ID, KEEL_ROUTES_METHOD, Some(table)).await;
        match outcome {
            Ok(answer) if answer.status.is_success() => {
                tracing::debug!(version = table.version, "Route table pushed to keel");
            }
            Ok(answer) => tracing::warn!(
                version = table.version,
                status = answer.status.as_u16(),
                answer = %quote(&answer.body),
                "Keel refused the route table push; it will re-read the store"
            ),
            Err(error) => {
                tracing::warn!(version = table.version, %error, "Route table push to keel failed; it will re-read the store")
            }
        }
    }
}

async fn status_of(
    dapr: &DaprClient,
    id: &str,
    setting: &'static str,
) -> Result<PluginStatus, RegistryError> {
    let answer = call(dapr, Method::GET, id, paths::STATUS, None, setting).await?;
    let reply: Reply<StatusResponse> = answer
        .json()
        .map_err(|e| RegistryError::MalformedStatus { id: id.to_owned(), reason: decode_reason(&e) })?;
    Ok(reply.body.status)
}

/// Invokes `endpoint` on `id` and accepts only HTTP 200 (any 2xx for POSTs) with `ret == 0`.
async fn call(
    dapr: &DaprClient,
    method: Method,
    id: &str,
    endpoint: &'static str,
    body: Option<&serde_json::Value>,
    setting: &'static str,
) -> Result<Invoked, RegistryError> {
    let answer = dapr.invoke(method.clone(), id, endpoint, body).await.map_err(|e| match e {
        DaprError::Timeout { .. } => {
            RegistryError::Timeout { id: id.to_owned(), endpoint, after: dapr.config().timeout, setting }
        }
        DaprError::Connect { .. } => RegistryError::Sidecar(e),
        DaprError::Api { message, .. } => {
            RegistryError::Unreachable { id: id.to_owned(), endpoint, reason: message }
        }
        other => RegistryError::Unreachable { id: id.to_owned(), endpoint, reason: other.to_string() },
    })?;
    let envelope = serde_json::from_slice::<Envelope>(&answer.body).ok();
    let ok_status =
        if method == Method::GET { answer.status == StatusCode::OK } else { answer.status.is_success() };
    if !ok_status {
        let msg = match &envelope {
            Some(e) if !e.msg.is_empty() => e.msg.clone(),
            _ => quote(&answer.body),
        };
        return Err(RegistryError::PluginHttp {
            id: id.to_owned(),
            endpoint,
            status: answer.status.as_u16(),
            msg,
        });
    }
    if let Some(e) = envelope.filter(|e| !e.is_ok()) {
        return Err(RegistryError::PluginRefused { id: id.to_owned(), endpoint, ret: e.ret, msg: e.msg });
    }
    Ok(answer)
}

/// The decoding problem without the "GET ... on x:" prefix the client adds.
fn decode_reason(e: &DaprError) -> String {
    match e {
        DaprError::Decode { reason, .. } => reason.clone(),
        other => other.to_string(),
    }
}

/// A bounded quote of a body for messages (`keel_sdk::service::snippet`), saying so when there
/// is nothing to quote.
fn quote(body: &[u8]) -> String {
    match snippet(body.trim_ascii()) {
        text if text.is_empty() => "(empty body)".to_owned(),
        text => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_trimmed_bounded_and_never_empty() {
        assert_eq!(quote(b"  database is down\n"), "database is down");
        assert_eq!(quote(b" \n"), "(empty body)");
        let long = quote("é".repeat(1000).as_bytes());
        assert!(long.ends_with('…') && long.len() < 600, "{long}");
    }
}
