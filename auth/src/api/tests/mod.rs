//! Handler tests: auth's real routes on `actix_web::test`, its store on a fake sidecar.

mod answers;
mod management;
mod oauth;
mod openapi;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header::HeaderMap;
use actix_web::http::StatusCode;
use actix_web::test::{call_service, read_body, TestRequest};
use serde_json::Value;

/// Status, headers and JSON body (`null` when empty or not JSON).
pub async fn send<S, R, B>(app: &S, req: R) -> (StatusCode, HeaderMap, Value)
where
    S: Service<R, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let res = call_service(app, req).await;
    let (status, headers) = (res.status(), res.headers().clone());
    let body = read_body(res).await;
    (status, headers, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// A form POST to `path`.
pub fn form(path: &str, pairs: &[(&str, &str)]) -> TestRequest {
    let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    TestRequest::post()
        .uri(path)
        .insert_header(("content-type", "application/x-www-form-urlencoded"))
        .set_payload(body)
}

/// A request carrying `token` as its bearer token.
pub fn authed(req: TestRequest, token: &str) -> TestRequest {
    req.insert_header(("authorization", format!("Bearer {token}")))
}

/// The form of a password grant.
pub fn password_form(user: &str, password: &str, tenant: Option<&str>) -> TestRequest {
    let mut pairs = vec![("grant_type", "password"), ("username", user), ("password", password)];
    if let Some(t) = tenant {
        pairs.push(("tenant", t));
    }
    form("/v1/oauth/token", &pairs)
}

/// Logs in and returns the token answer; panics unless 200.
macro_rules! login {
    ($app:expr, $user:expr, $pw:expr, $tenant:expr) => {{
        let (status, _, body) = $crate::api::tests::send(
            &$app,
            $crate::api::tests::password_form($user, $pw, $tenant).to_request(),
        )
        .await;
        assert_eq!(status, actix_web::http::StatusCode::OK, "login of {}: {body}", $user);
        body
    }};
}
pub(crate) use login;

/// The access token of the platform's super-admin.
macro_rules! admin_token {
    ($app:expr) => {
        $crate::api::tests::login!($app, "admin", $crate::testing::ADMIN_PASSWORD, None)["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    };
}
pub(crate) use admin_token;

/// A JSON request with `token`.
pub fn json_req(req: TestRequest, token: &str, body: Value) -> TestRequest {
    authed(req, token).set_json(body)
}
