//! The console's CSRF defence (`docs/console.md`): a request authenticated by the session cookie
//! that may change something (any method but GET, HEAD, OPTIONS) must come from a page of this
//! origin (`Origin`, else `Referer`, names the request's own host) and carry `x-keel-csrf` equal
//! to the `keel_csrf` cookie, which only a page of this origin can read (double submit). Either
//! missing or wrong is 403 `ERR_CSRF`. `SameSite=Lax` on the session cookie already keeps it off
//! most cross-site requests; this is the second, independent lock.

use actix_web::http::header;
use actix_web::http::Method;
use actix_web::HttpRequest;
use subtle::ConstantTimeEq;

use super::errors::RouteError;
use super::session::cookie;
use keel_sdk::protocol::headers::{CSRF_COOKIE, X_KEEL_CSRF};

/// Whether `method` can change state (RFC 9110 §9.2.1's safe methods cannot).
pub fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Checks a cookie-authenticated request: nothing for safe methods, the origin and the token for
/// the others.
pub fn check(req: &HttpRequest) -> Result<(), RouteError> {
    if !is_unsafe(req.method()) {
        return Ok(());
    }
    same_origin(req)?;
    let sent = req.headers().get(X_KEEL_CSRF).map(|v| v.as_bytes()).unwrap_or_default();
    let expected = cookie(req, CSRF_COOKIE).map(str::as_bytes).unwrap_or_default();
    if sent.is_empty() || expected.is_empty() || !bool::from(sent.ct_eq(expected)) {
        return Err(RouteError::Csrf(
            "a state-changing request with the console's session cookie must carry the x-keel-csrf header equal to the keel_csrf cookie; reload the console and try again".into(),
        ));
    }
    Ok(())
}

/// The `Origin` (or, without one, the `Referer`) names the request's own host: its `Host`, or
/// the `x-forwarded-host` a trusted proxy recorded (a proxy in front of keel may rewrite `Host`).
/// A request with neither is refused: browsers send `Origin` on every cross-origin and every
/// non-GET fetch.
pub fn same_origin(req: &HttpRequest) -> Result<(), RouteError> {
    let headers = req.headers();
    let text = |name| headers.get(name).and_then(|v: &header::HeaderValue| v.to_str().ok());
    let host = text(header::HOST).unwrap_or_default();
    let trusted = req
        .app_data::<actix_web::web::Data<crate::state::RouterState>>()
        .zip(req.peer_addr())
        .is_some_and(|(state, peer)| state.trusted_proxies.contains(peer.ip()));
    let forwarded = trusted
        .then(|| text(header::HeaderName::from_static("x-forwarded-host")))
        .flatten()
        .and_then(|v| v.split(',').next())
        .map(str::trim);
    let from = text(header::ORIGIN).or_else(|| text(header::REFERER)).unwrap_or_default();
    let named = from.split_once("://").map(|(_, rest)| rest.split('/').next().unwrap_or_default());
    let ours = |h: &str| {
        (!host.is_empty() && h.eq_ignore_ascii_case(host))
            || forwarded.is_some_and(|f| h.eq_ignore_ascii_case(f))
    };
    match named {
        Some(h) if ours(h) => Ok(()),
        Some(h) => Err(RouteError::Csrf(format!(
            "a state-changing request with the console's session cookie must come from the console's own site; it came from {h:?}"
        ))),
        None => Err(RouteError::Csrf(
            "a state-changing request with the console's session cookie must say where it comes from (Origin or Referer header)".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;
    use actix_web::ResponseError;
    use keel_sdk::protocol::errors::PlatformError;

    fn req(method: Method, headers: &[(&str, &str)]) -> HttpRequest {
        let mut r = TestRequest::default().method(method).insert_header((header::HOST, "keel.example:8000"));
        for (k, v) in headers {
            r = r.insert_header((*k, *v));
        }
        r.to_http_request()
    }

    const GOOD: &[(&str, &str)] = &[
        ("origin", "http://keel.example:8000"),
        ("cookie", "keel_csrf=tok1; keel_session=kt_a"),
        ("x-keel-csrf", "tok1"),
    ];

    #[test]
    fn behind_a_trusted_proxy_the_forwarded_host_is_ours_too() {
        let mut cfg = crate::Config::local(Default::default());
        cfg.router.trusted_proxies = "10.0.0.0/8".into();
        let state = actix_web::web::Data::new(crate::state::RouterState::new(&cfg).unwrap());
        let from = |peer: &str| {
            TestRequest::default()
                .method(Method::POST)
                .app_data(state.clone())
                .peer_addr(peer.parse().unwrap())
                .insert_header((header::HOST, "keel:8000"))
                .insert_header(("x-forwarded-host", "console.example"))
                .insert_header(("origin", "https://console.example"))
                .to_http_request()
        };
        assert!(same_origin(&from("10.1.2.3:5000")).is_ok());
        let err = same_origin(&from("192.0.2.7:5000")).unwrap_err();
        assert_eq!(err.code().name(), "ERR_CSRF", "an untrusted peer's x-forwarded-host counts for nothing");
    }

    #[test]
    fn safe_methods_pass_and_unsafe_ones_need_origin_and_token() {
        assert!(check(&req(Method::GET, &[])).is_ok());
        assert!(check(&req(Method::POST, GOOD)).is_ok());
        let referer = [("referer", "http://keel.example:8000/console/"), GOOD[1], GOOD[2]];
        assert!(check(&req(Method::DELETE, &referer)).is_ok());
        for bad in [
            vec![GOOD[1], GOOD[2]],                                                  // no origin
            vec![("origin", "http://evil.example"), GOOD[1], GOOD[2]],               // another site
            vec![GOOD[0], GOOD[1]],                                                  // no token
            vec![GOOD[0], GOOD[1], ("x-keel-csrf", "tok2")],                         // wrong token
            vec![GOOD[0], ("cookie", "keel_session=kt_a"), ("x-keel-csrf", "tok1")], // no cookie
        ] {
            let err = check(&req(Method::POST, &bad)).unwrap_err();
            assert_eq!((err.status_code().as_u16(), err.code().name()), (403, "ERR_CSRF"), "{bad:?}");
        }
    }
}
