//! Auth's HTTP API: every route in one place ([`configure`]), shared by `start` and the tests.
//! Who may call each is decided in [`crate::authorize`].
//!
//! | method and path | who | what |
//! |---|---|---|
//! | `POST /v1/oauth/token` | anyone (public on keel's port) | password, client_credentials, refresh_token grants |
//! | `GET /v1/oauth/jwks` | anyone (public) | the token signing keys |
//! | `POST /v1/oauth/introspect` | bearer or client credentials (public) | RFC 7662 |
//! | `POST /v1/oauth/revoke` | whoever holds the token (public) | RFC 7009 |
//! | `POST /v1/oauth/keys/rotate` | platform scope | a new signing key |
//! | `GET, POST /v1/tenants`; `GET, PATCH, DELETE /v1/tenants/{id}` | platform scope; a tenant's admin for its own | tenants |
//! | `GET, POST /v1/users`; `GET, PATCH, DELETE /v1/users/{name}` | the tenant's admins (`?tenant=` for platform scope) | users |
//! | `GET, POST /v1/roles`; `GET, PATCH, DELETE /v1/roles/{name}` | the tenant's admins | roles |
//! | `GET /v1/roles/{name}/grants`; `PUT, DELETE /v1/roles/{name}/grants/{plugin_id}` | the tenant's admins | grants |
//! | `GET /v1/me`; `PUT /v1/me/password` | any user | own identity and password |
//! | `PUT, GET, DELETE /v1/clients/{plugin_id}` | app `plugins` (its sidecar's stamp) or platform scope | client credentials |
//! | `POST /v1/tickets`, `/v1/tickets/bind`, `/v1/tickets/revoke` | app `keel` | console login tickets |
//! | `POST /v1/tickets/check`, `/v1/permissions/check` | app `keel` (session tickets), the audience plugin (bound ones) | who a ticket is, what they may do |

pub mod caller;
pub mod clients;
pub mod form;
pub mod me;
pub mod oauth;
pub mod roles;
pub mod tenants;
pub mod tickets;
pub mod token;
pub mod users;

use actix_web::web;

use crate::error::AuthError;

/// The endpoints keel's public port lets through without a token: they check their callers
/// themselves (or are meant for everyone).
pub const PUBLIC_ENDPOINTS: [&str; 4] =
    ["v1/oauth/token", "v1/oauth/jwks", "v1/oauth/introspect", "v1/oauth/revoke"];

/// Largest request body (forms and JSON documents are small).
const MAX_BODY: usize = 64 * 1024;

/// The extractor settings every route shares: body limits, and malformed bodies and queries
/// refused with the platform's error body.
fn setup(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::PayloadConfig::new(MAX_BODY))
        .app_data(
            web::JsonConfig::default()
                .limit(MAX_BODY)
                .error_handler(|e, _| AuthError::Invalid(format!("malformed JSON body: {e}")).into()),
        )
        .app_data(
            web::QueryConfig::default()
                .error_handler(|e, _| AuthError::Invalid(format!("malformed query: {e}")).into()),
        );
}

// Every route, written once: `configure` serves them and `ROUTES` lists them, which the tests
// compare with the OpenAPI document (`OPENAPI`).
keel_sdk::management_routes! {
    @setup setup;
    get "/openapi.json" => openapi,
    post "/v1/oauth/token" => token::token,
    get "/v1/oauth/jwks" => oauth::jwks,
    post "/v1/oauth/introspect" => oauth::introspect,
    post "/v1/oauth/revoke" => oauth::revoke,
    post "/v1/oauth/keys/rotate" => oauth::rotate,
    get "/v1/tenants" => tenants::list,
    post "/v1/tenants" => tenants::create,
    get "/v1/tenants/{id}" => tenants::get,
    patch "/v1/tenants/{id}" => tenants::update,
    delete "/v1/tenants/{id}" => tenants::delete,
    get "/v1/users" => users::list,
    post "/v1/users" => users::create,
    get "/v1/users/{name}" => users::get,
    patch "/v1/users/{name}" => users::update,
    delete "/v1/users/{name}" => users::delete,
    get "/v1/roles" => roles::list,
    post "/v1/roles" => roles::create,
    get "/v1/roles/{name}" => roles::get,
    patch "/v1/roles/{name}" => roles::update,
    delete "/v1/roles/{name}" => roles::delete,
    get "/v1/roles/{name}/grants" => roles::get,
    put "/v1/roles/{name}/grants/{plugin}" => roles::grant,
    delete "/v1/roles/{name}/grants/{plugin}" => roles::revoke,
    get "/v1/me" => me::whoami,
    put "/v1/me/password" => me::change_password,
    put "/v1/clients/{id}" => clients::put,
    get "/v1/clients/{id}" => clients::get,
    delete "/v1/clients/{id}" => clients::delete,
    post "/v1/tickets" => tickets::create,
    post "/v1/tickets/bind" => tickets::bind,
    post "/v1/tickets/check" => tickets::check,
    post "/v1/tickets/revoke" => tickets::revoke,
    post "/v1/permissions/check" => tickets::permission,
}

/// The API's OpenAPI 3.1 document (`auth/openapi.json`), checked in like the registry's (see
/// auth's README, "OpenAPI"); the tests keep it equal to [`ROUTES`].
pub const OPENAPI: &str = include_str!("../../openapi.json");

/// `GET /openapi.json`: the document above.
async fn openapi() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok().content_type("application/json").body(OPENAPI)
}

#[cfg(test)]
pub(crate) mod tests;
