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

pub mod caller;
pub mod clients;
pub mod form;
pub mod me;
pub mod oauth;
pub mod roles;
pub mod tenants;
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

/// Registers every route and the extractor settings.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::PayloadConfig::new(MAX_BODY))
        .app_data(
            web::JsonConfig::default()
                .limit(MAX_BODY)
                .error_handler(|e, _| AuthError::Invalid(format!("malformed JSON body: {e}")).into()),
        )
        .app_data(
            web::QueryConfig::default()
                .error_handler(|e, _| AuthError::Invalid(format!("malformed query: {e}")).into()),
        )
        .route("/v1/oauth/token", web::post().to(token::token))
        .route("/v1/oauth/jwks", web::get().to(oauth::jwks))
        .route("/v1/oauth/introspect", web::post().to(oauth::introspect))
        .route("/v1/oauth/revoke", web::post().to(oauth::revoke))
        .route("/v1/oauth/keys/rotate", web::post().to(oauth::rotate))
        .service(web::resource("/v1/tenants").get(tenants::list).post(tenants::create))
        .service(
            web::resource("/v1/tenants/{id}")
                .get(tenants::get)
                .patch(tenants::update)
                .delete(tenants::delete),
        )
        .service(web::resource("/v1/users").get(users::list).post(users::create))
        .service(web::resource("/v1/users/{name}").get(users::get).patch(users::update).delete(users::delete))
        .service(web::resource("/v1/roles").get(roles::list).post(roles::create))
        .service(web::resource("/v1/roles/{name}").get(roles::get).patch(roles::update).delete(roles::delete))
        .service(web::resource("/v1/roles/{name}/grants").get(roles::get))
        .service(web::resource("/v1/roles/{name}/grants/{plugin}").put(roles::grant).delete(roles::revoke))
        .route("/v1/me", web::get().to(me::whoami))
        .route("/v1/me/password", web::put().to(me::change_password))
        .service(
            web::resource("/v1/clients/{id}").put(clients::put).get(clients::get).delete(clients::delete),
        );
}

#[cfg(test)]
mod tests;
