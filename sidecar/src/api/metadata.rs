//! `GET /v1.0/metadata` and `PUT /v1.0/metadata/{key}` (daprd's `pkg/api/http/metadata.go`).
//! Fields come out in daprd's order with its omitempty rules, followed by a newline.

use super::errors::{codes, ApiError};
use super::ApiContext;
use crate::channel::body::{read_all, RequestBody};
use crate::config::RUNTIME_VERSION;
use crate::golang::duration;
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Metadata<'a> {
    id: &'a str,
    runtime_version: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    components: Vec<ComponentMeta<'a>>,
    extended: BTreeMap<String, String>,
    app_connection_properties: AppConnection<'a>,
    actor_runtime: ActorRuntime,
}

#[derive(Serialize)]
struct ComponentMeta<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    type_name: &'a str,
    version: &'a str,
    // The proto field is omitempty: a secret store without features shows none.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    capabilities: &'static [&'static str],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AppConnection<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
    protocol: &'static str,
    channel_address: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    health: Option<HealthMeta<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HealthMeta<'a> {
    health_check_path: &'a str,
    health_probe_interval: String,
    health_probe_timeout: String,
    health_threshold: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ActorRuntime {
    runtime_status: &'static str,
    host_ready: bool,
}

/// `GET /v1.0/metadata`.
pub fn get(ctx: &ApiContext) -> Result<HttpResponse, ApiError> {
    let mut extended = ctx.extended.lock().unwrap_or_else(|p| p.into_inner()).clone();
    extended.insert("daprRuntimeVersion".into(), RUNTIME_VERSION.into());
    let cfg = &ctx.cfg;
    let body = Metadata {
        id: &ctx.app_id,
        runtime_version: RUNTIME_VERSION,
        components: ctx
            .stores
            .iter()
            .map(|s| ComponentMeta {
                name: &s.name,
                type_name: &s.type_name,
                version: &s.version,
                capabilities: s.backend.capabilities(),
            })
            .chain(ctx.secrets.iter().map(|s| ComponentMeta {
                name: &s.name,
                type_name: &s.type_name,
                version: &s.version,
                capabilities: s.backend.features(),
            }))
            .collect(),
        extended,
        app_connection_properties: AppConnection {
            port: cfg.app_port,
            protocol: "http",
            channel_address: &cfg.app_channel_address,
            health: cfg.app_health.as_ref().map(|h| HealthMeta {
                health_check_path: &h.path,
                health_probe_interval: duration::format(h.interval),
                health_probe_timeout: duration::format(h.timeout),
                health_threshold: h.threshold,
            }),
        },
        actor_runtime: ActorRuntime { runtime_status: "DISABLED", host_ready: false },
    };
    let mut bytes = serde_json::to_vec(&body).unwrap_or_default();
    bytes.push(b'\n');
    Ok(HttpResponse::Ok().content_type("application/json").body(bytes))
}

/// `PUT /v1.0/metadata/{key}`: the raw body becomes `extended[key]`; 204.
pub async fn put(ctx: &ApiContext, key: String, body: RequestBody) -> Result<HttpResponse, ApiError> {
    let bytes = read_all(body).await.map_err(|e| {
        ApiError::legacy(StatusCode::INTERNAL_SERVER_ERROR, codes::METADATA_SET, e.to_string())
    })?;
    if !key.is_empty() {
        let value = String::from_utf8_lossy(&bytes).into_owned();
        ctx.extended.lock().unwrap_or_else(|p| p.into_inner()).insert(key, value);
    }
    Ok(HttpResponse::NoContent().finish())
}
