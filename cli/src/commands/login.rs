//! `keelctl login`: the OAuth2 password grant against auth's token endpoint (public on keel's
//! port), then the token stored owner-only.

use std::time::Duration;

use awc::http::Method;
use keel_sdk::management::auth::TokenResponse;
use keel_sdk::protocol::errors::Code;
use keel_sdk::protocol::AUTH_APP_ID;

use crate::api::{Api, Request};
use crate::args::KeelUrl;
use crate::credentials::{self, Credentials};
use crate::error::CliError;

pub async fn login(
    url: &KeelUrl,
    timeout: Duration,
    username: &str,
    tenant: Option<&str>,
    password_stdin: bool,
) -> Result<(), CliError> {
    let password = if password_stdin {
        super::read_stdin_line("password")?
    } else {
        std::env::var("KEEL_PASSWORD").ok().filter(|p| !p.is_empty()).ok_or_else(|| {
            CliError::Usage(
                "give the password on standard input (--password-stdin) or in KEEL_PASSWORD".into(),
            )
        })?
    };
    let api = Api::new(url, None, timeout);
    let mut form = vec![("grant_type", "password"), ("username", username), ("password", password.as_str())];
    if let Some(t) = tenant {
        form.push(("tenant", t));
    }
    let req = Request::new(Method::POST, AUTH_APP_ID, &["v1", "oauth", "token"]).form(&form);
    // RFC 6749 answers a bad password with 400 invalid_grant: for a script it is "not logged in".
    let answer: TokenResponse = api.send(req).await.map_err(|e| match e {
        CliError::Refused(r)
            if r.is(Code::OAuthInvalidGrant)
                || r.is(Code::OAuthInvalidRequest)
                || r.is(Code::OAuthInvalidClient)
                || (r.code.is_none() && matches!(r.status, 400 | 401)) =>
        {
            CliError::LoginRefused(r.msg)
        }
        other => other,
    })?;
    let creds = Credentials {
        url: url.to_string(),
        access_token: answer.access_token,
        refresh_token: answer.refresh_token,
    };
    let path = credentials::save(&creds)?;
    eprintln!("logged in as {username}; token stored in {}", path.display());
    Ok(())
}
