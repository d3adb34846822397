//! The internal server: the port other sidecars call (daprd's internal gRPC server,
//! `pkg/api/grpc/daprinternal.go`). It listens on 127.0.0.1 only and applies the callee's rules,
//! in daprd's order — mTLS (who calls, [`crate::security`]), an app channel at all, the
//! access-control policies ([`crate::acl`]), its own `APP_API_TOKEN`, its app's health — before
//! streaming the call to its app and the app's answer back, both without buffering.

pub mod protocol;

use crate::acl::AccessControlList;
use crate::channel::body::RequestBody;
use crate::channel::{self, AppChannel, ChannelError, ChannelRequest};
use crate::messaging::{headers, method};
use crate::security::WorkloadIdentity;
use actix_web::http::header::{HeaderMap, CONTENT_LENGTH, HOST};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use keel_sdk::dapr::headers::copy_end_to_end;
use std::sync::Arc;

/// What the internal server needs.
pub struct InternalContext {
    /// The app-id this sidecar serves.
    pub app_id: String,
    /// Whether the sidecar has an app (`--app-port`).
    pub has_app_channel: bool,
    /// mTLS: who the callers are.
    pub identity: Arc<WorkloadIdentity>,
    /// The access-control policies, when the Configuration has any.
    pub acl: Option<Arc<AccessControlList>>,
    /// Its app channel.
    pub channel: Arc<AppChannel>,
}

/// Every request: `<verb> /v1.0-internal/invoke?<raw query>` from another sidecar.
pub async fn handle(
    req: HttpRequest,
    payload: web::Payload,
    ctx: web::Data<InternalContext>,
    client: web::Data<awc::Client>,
) -> HttpResponse {
    if req.path() != protocol::PATH {
        return HttpResponse::NotFound().finish();
    }
    let Some(call) = protocol::read_call(req.headers()) else {
        return sidecar_error("rpc error: code = InvalidArgument desc = missing sidecar call headers".into());
    };
    // A stale registry row can point at a port another sidecar now holds: refuse rather than
    // deliver the call to the wrong app.
    if call.app_id != ctx.app_id {
        return sidecar_error(format!(
            "rpc error: code = Unavailable desc = app id {} is not served at this address (it serves {})",
            call.app_id, ctx.app_id
        ));
    }
    // mTLS: daprd's handshake, before any request; the caller's sidecar reports the failure
    // after its built-in retries.
    let caller = match ctx.identity.authenticate(req.headers()) {
        Ok(caller) => caller,
        Err(e) => {
            return sidecar_error(format!(
                "failed to invoke target {} after 3 retries. Error: {e}",
                call.app_id
            ))
        }
    };
    // daprd's CallLocalStream checks for an app channel before the policies.
    if !ctx.has_app_channel {
        return sidecar_error("rpc error: code = Internal desc = app channel is not initialized".into());
    }
    // callLocalValidateACL: the method normalised again (defence in depth), then the policies.
    let mut method = call.method.clone();
    if let Some(acl) = &ctx.acl {
        method = match method::normalize(&method) {
            Ok(m) => m,
            Err(e) => return sidecar_error(e.to_string()),
        };
        if let Err(denied) = acl.check(caller.as_ref(), &method, req.method().as_str()) {
            return permission_denied(format!("rpc error: code = PermissionDenied desc = {denied}"));
        }
    }
    let mut headers = HeaderMap::new();
    copy_end_to_end(req.headers(), &mut headers, |n| {
        protocol::is_internal(n.as_str()) || n == HOST || n == CONTENT_LENGTH
    });
    // With mTLS the caller is who its certificate says, whatever else the request claims.
    if let Some(caller) = &caller {
        let callee = ctx.app_id.as_str();
        headers::stamp_identity(&mut headers, &caller.app_id, &caller.namespace, callee);
    }
    let body = RequestBody::from_request(req.headers(), payload, u64::MAX);
    let call = ChannelRequest {
        verb: req.method().clone(),
        method,
        raw_query: req.query_string().to_owned(),
        headers,
        body,
    };
    match ctx.channel.invoke(&client, call).await {
        Ok(resp) => channel::stream_back(resp, req.method() == actix_web::http::Method::HEAD),
        Err(ChannelError::NotInitialized) => {
            sidecar_error("rpc error: code = Internal desc = app channel is not initialized".into())
        }
        Err(e) => sidecar_error(format!("rpc error: code = Internal desc = error invoking app channel: {e}")),
    }
}

/// A failure of this sidecar, marked so the caller sidecar wraps it in its own error body.
fn sidecar_error(text: String) -> HttpResponse {
    marked(StatusCode::INTERNAL_SERVER_ERROR, text)
}

/// A call the policies refuse (gRPC `PermissionDenied`): the caller's sidecar answers 403.
fn permission_denied(text: String) -> HttpResponse {
    marked(StatusCode::FORBIDDEN, text)
}

fn marked(status: StatusCode, text: String) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((protocol::ERROR, "1"))
        .content_type("text/plain; charset=utf-8")
        .body(text)
}
