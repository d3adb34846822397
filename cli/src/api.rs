//! Requests to the core services through keel's public port (`/apis/<service>/<path>`), with the
//! stored bearer token. Answers are read as the shared records of [`keel_sdk::management`] inside
//! the protocol envelope; anything else becomes a [`CliError`] ([`crate::refusal::decode`]).

use std::time::Duration;

use awc::http::Method;
use keel_sdk::protocol::headers::X_KEEL_ERROR;
use keel_sdk::protocol::{Envelope, Reply};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::args::KeelUrl;
use crate::error::{CliError, Refusal};
use crate::refusal::{self, Answer};

/// Largest answer read (a listing page of 500 records is far less).
const MAX_ANSWER: usize = 64 * 1024 * 1024;

/// What may stay unescaped in a path segment (RFC 3986 unreserved).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// An answer with nothing but the envelope (deletions).
#[derive(Debug, Deserialize)]
pub struct Done {}

/// One request: method, service, path, and optionally a query and a body.
pub struct Request<'a> {
    method: Method,
    service: &'a str,
    path: String,
    query: Option<String>,
    body: Body<'a>,
}

enum Body<'a> {
    None,
    Json(Vec<u8>),
    Form(&'a [(&'a str, &'a str)]),
    Bytes(Vec<u8>, &'static str),
}

/// A client for one keel URL.
pub struct Api {
    http: awc::Client,
    base: KeelUrl,
    token: Option<String>,
}

// === impl Request ===

impl<'a> Request<'a> {
    /// `method` on `service`'s `segments` (each escaped: an id cannot reach another endpoint).
    pub fn new(method: Method, service: &'a str, segments: &[&str]) -> Self {
        let path = segments
            .iter()
            .map(|s| utf8_percent_encode(s, SEGMENT).to_string())
            .collect::<Vec<_>>()
            .join("/");
        Self { method, service, path, query: None, body: Body::None }
    }

    /// `GET` of `segments` on `service`.
    pub fn get(service: &'a str, segments: &[&str]) -> Self {
        Self::new(Method::GET, service, segments)
    }

    /// With `query` (a `keel_sdk::management` query type) as the query string.
    pub fn query(mut self, query: &impl Serialize) -> Self {
        self.query = serde_urlencoded::to_string(query).ok().filter(|q| !q.is_empty());
        self
    }

    /// With `body` as JSON.
    pub fn json(mut self, body: &impl Serialize) -> Self {
        self.body = Body::Json(serde_json::to_vec(body).expect("request bodies serialise"));
        self
    }

    /// With `body` as it is, of `content_type` (a bundle archive).
    pub fn bytes(mut self, body: Vec<u8>, content_type: &'static str) -> Self {
        self.body = Body::Bytes(body, content_type);
        self
    }

    /// With `form` as an `application/x-www-form-urlencoded` body.
    pub fn form(mut self, form: &'a [(&'a str, &'a str)]) -> Self {
        self.body = Body::Form(form);
        self
    }
}

// === impl Api ===

impl Api {
    /// A client for keel at `base` with an optional bearer token.
    pub fn new(base: &KeelUrl, token: Option<String>, timeout: Duration) -> Self {
        let http = awc::Client::builder().timeout(timeout).disable_redirects().finish();
        Self { http, base: base.clone(), token }
    }

    /// Sends `req` and reads the answer's record `T` (inside the envelope). Non-2xx answers, and
    /// 2xx answers whose envelope says `ret != 0`, are errors.
    pub async fn send<T: DeserializeOwned>(&self, req: Request<'_>) -> Result<T, CliError> {
        let service = req.service;
        let (what, mut res) = self.exchange(req).await?;
        let status = res.status().as_u16();
        let body = res.body().limit(MAX_ANSWER).await.map_err(|e| self.unreachable(&e))?;
        read(&what, service, status, &body)
    }

    /// Sends `req` and copies a successful answer's body to `out` as it arrives (a log that may
    /// be followed for as long as the user wants); refusals are errors as for [`Api::send`].
    pub async fn stream_to(&self, req: Request<'_>, out: &mut impl std::io::Write) -> Result<(), CliError> {
        use futures_util::StreamExt;
        let (_, mut res) = self.exchange(req).await?;
        while let Some(chunk) = res.next().await {
            let chunk = chunk.map_err(|e| self.unreachable(&e))?;
            out.write_all(&chunk)
                .and_then(|()| out.flush())
                .map_err(|source| CliError::Io { what: "write to standard output".into(), source })?;
        }
        Ok(())
    }

    /// Sends `req`; a non-2xx answer becomes the refusal it says.
    async fn exchange(
        &self,
        req: Request<'_>,
    ) -> Result<
        (
            String,
            awc::ClientResponse<
                impl futures_util::Stream<Item = Result<bytes::Bytes, awc::error::PayloadError>>,
            >,
        ),
        CliError,
    > {
        let mut url = format!("{}/apis/{}/{}", self.base, req.service, req.path);
        if let Some(q) = &req.query {
            url = format!("{url}?{q}");
        }
        let what = format!("{} {}", req.method, url);
        let mut http = self.http.request(req.method.clone(), &url);
        if let Some(t) = &self.token {
            http = http.insert_header(("authorization", format!("Bearer {t}")));
        }
        let sent = match req.body {
            Body::None => http.send().await,
            Body::Json(bytes) => http.content_type("application/json").send_body(bytes).await,
            Body::Form(form) => http.send_form(&form).await,
            Body::Bytes(bytes, content_type) => http.content_type(content_type).send_body(bytes).await,
        };
        let mut res = sent.map_err(|e| self.unreachable(&e))?;
        let status = res.status();
        if !status.is_success() {
            let keel_error = res.headers().contains_key(X_KEEL_ERROR);
            let body = res.body().limit(MAX_ANSWER).await.map_err(|e| self.unreachable(&e))?;
            return Err(refusal::decode(Answer {
                url: self.base.as_str(),
                target: req.service,
                status: status.as_u16(),
                keel_error,
                body: &body,
            }));
        }
        Ok((what, res))
    }

    fn unreachable(&self, e: &dyn std::fmt::Display) -> CliError {
        CliError::Unreachable { url: self.base.to_string(), reason: e.to_string() }
    }
}

/// Reads a successful answer: the envelope first (`ret != 0` is a failure whatever the status),
/// then the record.
fn read<T: DeserializeOwned>(what: &str, service: &str, status: u16, body: &[u8]) -> Result<T, CliError> {
    let unreadable =
        |e: serde_json::Error| CliError::Unreadable { what: what.to_owned(), reason: e.to_string() };
    let envelope: Envelope = serde_json::from_slice(body).map_err(unreadable)?;
    if !envelope.is_ok() {
        return Err(Refusal {
            status,
            msg: refusal::translate(&envelope.msg),
            code: None,
            plugin: None,
            target: service.to_owned(),
            advice: None,
        }
        .into());
    }
    Ok(serde_json::from_slice::<Reply<T>>(body).map_err(unreadable)?.body)
}

#[cfg(test)]
mod tests;
