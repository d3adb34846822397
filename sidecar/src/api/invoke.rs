//! Service invocation over HTTP (daprd's `onDirectMessage`): find the target, hand one typed
//! request to the messaging layer, and pass the app's answer back as daprd does — 2xx/3xx (and
//! anything answering a streaming request) streamed without `Content-Length`, other statuses to
//! a non-streaming request buffered with `Content-Type` defaulting to `application/json`.

use super::errors::ApiError;
use super::ApiContext;
use crate::channel::body::RequestBody;
use crate::channel::{self, AppResponse};
use crate::messaging::{headers, target, DirectMessaging, InvokeRequest};
use actix_web::http::header::{HeaderValue, CONTENT_TYPE};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use bytes::Bytes;
use futures_util::StreamExt;

/// Handles a request no API route matched.
pub async fn direct_message(
    req: &HttpRequest,
    decoded_path: &str,
    body: RequestBody,
    ctx: &ApiContext,
    messaging: &DirectMessaging,
    client: &awc::Client,
) -> HttpResponse {
    // 1. Target: dapr-app-id header, Basic auth, or /v1.0/invoke/<id>/method/<m>; else 404.
    let Some(target) = target::find(decoded_path, req.headers()) else {
        return ApiError::no_app_id().error_response();
    };
    let streaming = body.is_streaming();
    // 2. Headers: end-to-end only, no dapr-app-id, no checked dapr-api-token.
    let headers = headers::forwarded(req.headers(), ctx.cfg.dapr_api_token.is_some());
    let call = InvokeRequest {
        verb: req.method().clone(),
        method: target.method,
        raw_query: req.query_string().to_owned(),
        headers,
        body,
    };
    // 3. Local app or another sidecar.
    let resp = match messaging.invoke(client, &target.app_id, call).await {
        Ok(resp) => resp,
        Err(e) => {
            tracing::debug!(app_id = %ctx.app_id, target = %target.app_id, error = %e, "Invocation failed");
            return ApiError::direct_invoke(&target.app_id, &e).with_status(e.status()).error_response();
        }
    };
    // 4. The answer, as daprd passes it on.
    let status = resp.status.as_u16();
    if streaming || (200..=399).contains(&status) {
        streamed(resp, req.method() == Method::HEAD).await
    } else {
        buffered(resp, &target.app_id).await
    }
}

/// 2xx/3xx: headers then a flushed stream. Like Go's flushing writer, the head leaves with the
/// first chunk, and an empty body ends up as `Content-Length: 0`.
async fn streamed(mut resp: AppResponse, head: bool) -> HttpResponse {
    if head || resp.status == StatusCode::NO_CONTENT || resp.status == StatusCode::NOT_MODIFIED {
        return channel::stream_back(resp, head);
    }
    let mut builder = HttpResponse::build(resp.status);
    channel::copy_response_headers(&resp.headers, &mut builder);
    match resp.body.next().await {
        None => builder.finish(),
        Some(first) => {
            let rest = std::mem::replace(&mut resp.body, futures_util::stream::empty().boxed_local());
            // `.body(BodyStream)`, not `.streaming()`: the latter invents a Content-Type.
            builder.body(actix_web::body::BodyStream::new(
                futures_util::stream::once(async move { first }).chain(rest),
            ))
        }
    }
}

/// Non-2xx/3xx to a non-streaming request: the whole body, with a default Content-Type.
async fn buffered(resp: AppResponse, app_id: &str) -> HttpResponse {
    let (status, headers, body): (StatusCode, _, Bytes) = match resp.collect().await {
        Ok(parts) => parts,
        Err(e) => return ApiError::direct_invoke(app_id, e).error_response(),
    };
    let mut builder = HttpResponse::build(status);
    channel::copy_response_headers(&headers, &mut builder);
    if !headers.contains_key(CONTENT_TYPE) {
        builder.insert_header((CONTENT_TYPE, HeaderValue::from_static("application/json")));
    }
    builder.body(body)
}
