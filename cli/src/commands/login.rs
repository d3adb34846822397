//! `keelctl login`: the OAuth2 password grant against auth's token endpoint (public on keel's
//! port), then the token stored owner-only.

use std::time::Duration;

use crate::api::Api;
use crate::credentials::{self, Credentials};
use crate::error::CliError;

pub async fn login(
    url: &str,
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
    // RFC 6749 answers a bad password with 400 invalid_grant: for a script it is "not logged in".
    let answer = api.form("auth", "v1/oauth/token", &form).await.map_err(|e| match e {
        CliError::Api { status: 400 | 401, msg, .. } => CliError::LoginRefused(msg),
        other => other,
    })?;
    let access_token = answer
        .get("access_token")
        .and_then(|v| v.as_str())
        .ok_or_else(|| CliError::Usage("the token endpoint answered without an access_token".into()))?
        .to_owned();
    let refresh_token = answer.get("refresh_token").and_then(|v| v.as_str()).map(str::to_owned);
    let path = credentials::save(&Credentials { url: url.to_owned(), access_token, refresh_token })?;
    eprintln!("logged in as {username}; token stored in {}", path.display());
    Ok(())
}
