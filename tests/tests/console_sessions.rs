//! The console's cookie sessions end to end, without a browser (issue 16, `docs/console.md`):
//! the real auth, keel, registry and `notes-ui`. Login sets `keel_session` (HttpOnly) and
//! `keel_csrf` with the documented attributes (`Secure` only over https from a trusted proxy); a
//! wrong password is auth's sentence and sets nothing; the cookie works like a bearer token on
//! `/apis/`; a state-changing cookie request without the CSRF token, or from another site, is 403
//! `ERR_CSRF`; `/plugins/notes-ui/` gets a ticket bound to notes-ui (never the session's); logout
//! revokes the session, after which neither keel nor the extension's own check accepts it.
//! Every sidecar runs with the stock Configurations (`config/`): notes-ui reaches auth's ticket
//! check, echo is refused by auth's sidecar.

mod console_support;

use console_support::*;
use keel_e2e::{client, Platform};
use serde_json::{json, Value};

fn refused(a: &Answer, status: u16, code: &str) {
    assert_eq!(a.status, status, "{}", a.text);
    assert_eq!(a.body["code"], code, "{}", a.text);
}

/// `notes-ui`'s own back end, straight on its app port, with `x-keel-ticket: ticket`: what the
/// extension's ticket check says.
async fn extension_check(p: &Platform, ticket: &str) -> (u16, Value) {
    let mut res = client()
        .get(format!("{}/plugins/notes-ui/api/me", p.app_url("notes-ui")))
        .insert_header(("x-keel-ticket", ticket))
        .send()
        .await
        .expect("notes-ui");
    let body: Value = res.json().await.unwrap_or(Value::Null);
    (res.status().as_u16(), body)
}

/// The ticket bound to `audience` for `session`, asked as keel (through keel's sidecar).
async fn bound(p: &Platform, session: &str, audience: &str) -> String {
    let url = format!("{}/v1.0/invoke/auth/method/v1/tickets/bind", p.dapr_url("keel"));
    let (status, body) = call("POST", &url, Some(json!({"ticket": session, "audience": audience}))).await;
    assert_eq!(status, 200, "{body}");
    body["ticket"].as_str().unwrap().to_owned()
}

#[actix_rt::test]
async fn cookie_sessions_csrf_bound_tickets_and_logout() {
    let mut p = Platform::new();
    // keel trusts 127.0.0.1 as a proxy, so a login that says it came over https gets Secure.
    console_platform(&mut p, &[("KEEL_TRUSTED_PROXIES", "127.0.0.1")]).await;

    // A wrong password: auth's sentence, no cookie.
    let body = json!({"username": "admin", "password": "not-the-password"});
    let a = browser(&p, "POST", "/console/api/login", &[("origin", origin(&p))], Some(body)).await;
    refused(&a, 401, "ERR_UNAUTHENTICATED");
    assert!(a.set_cookies.is_empty(), "{:?}", a.set_cookies);
    let msg = a.body["msg"].as_str().unwrap_or_default();
    assert!(msg.contains("password"), "a sentence saying what was wrong: {msg}");
    // A login form on another site cannot log anyone in (login CSRF).
    let body = json!({"username": "admin", "password": ADMIN_PW});
    let a =
        browser(&p, "POST", "/console/api/login", &[("origin", "http://evil.example".into())], Some(body))
            .await;
    refused(&a, 403, "ERR_CSRF");
    // A body that is not a login is refused without quoting it.
    let a = browser(&p, "POST", "/console/api/login", &[("origin", origin(&p))], Some(json!({"user": "x"})))
        .await;
    refused(&a, 400, "ERR_BAD_REQUEST");

    // Login: both cookies with the model's attributes; the body says who, never the ticket.
    let (s, a) = console_login(&p, "admin", ADMIN_PW, None).await;
    let session = a.cookie("keel_session").unwrap();
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(session.contains(attr), "{attr} in {session}");
    }
    assert!(!session.contains("Secure"), "plain http: {session}");
    let csrf = a.cookie("keel_csrf").unwrap();
    assert!(csrf.contains("SameSite=Lax") && csrf.contains("Path=/") && !csrf.contains("HttpOnly"), "{csrf}");
    assert!(s.ticket.starts_with("kt_") && s.csrf.len() >= 40, "{csrf}");
    assert_eq!(a.body["user"]["username"], "admin", "{}", a.text);
    assert!(!a.text.contains(&s.ticket), "the ticket stays in the HttpOnly cookie");
    // Over https (a trusted proxy says so): Secure on both.
    let body = json!({"username": "admin", "password": ADMIN_PW});
    let headers = [("origin", origin(&p)), ("x-forwarded-proto", "https".to_owned())];
    let a = browser(&p, "POST", "/console/api/login", &headers, Some(body)).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert!(a.cookie("keel_session").unwrap().contains("; Secure"));
    assert!(a.cookie("keel_csrf").unwrap().contains("; Secure"));

    // The cookie works like a bearer token.
    let cookie = [("cookie", s.cookie())];
    let a = browser(&p, "GET", "/console/api/me", &cookie, None).await;
    assert_eq!(
        (a.status, a.body["username"].as_str(), a.body["scope"].as_str()),
        (200, Some("admin"), Some("platform"))
    );
    let a = browser(&p, "GET", "/apis/plugins/v1/plugins", &cookie, None).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert!(a.text.contains("notes-ui"));

    // CSRF: a state-changing cookie request needs the token and the console's own origin.
    let del = "/apis/plugins/v1/plugins/echo";
    let no_token = [("cookie", s.cookie()), ("origin", origin(&p))];
    refused(&browser(&p, "DELETE", del, &no_token, None).await, 403, "ERR_CSRF");
    let wrong = [("cookie", s.cookie()), ("origin", origin(&p)), ("x-keel-csrf", "guessed".to_owned())];
    refused(&browser(&p, "DELETE", del, &wrong, None).await, 403, "ERR_CSRF");
    let other_site = [
        ("cookie", s.cookie()),
        ("origin", "http://evil.example".to_owned()),
        ("x-keel-csrf", s.csrf.clone()),
    ];
    refused(&browser(&p, "DELETE", del, &other_site, None).await, 403, "ERR_CSRF");
    let no_origin = [("cookie", s.cookie()), ("x-keel-csrf", s.csrf.clone())];
    refused(&browser(&p, "DELETE", del, &no_origin, None).await, 403, "ERR_CSRF");
    assert_eq!(get_plugin(&p, REGISTRY, "echo").await.0, 200, "nothing was unregistered");
    // With the whole defence it goes through (and is the registry's to judge).
    let a = browser(&p, "DELETE", del, &s.unsafe_headers(&p), None).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(get_plugin(&p, REGISTRY, "echo").await.0, 404);

    // The extension gets a ticket bound to it, not the session's, and its check names the user.
    let a = browser(&p, "GET", "/plugins/notes-ui/api/me", &cookie, None).await;
    assert_eq!((a.status, a.body["username"].as_str()), (200, Some("admin")), "{}", a.text);
    assert_eq!(a.body["may_administer"], true, "{}", a.text);
    let page = browser(&p, "GET", "/plugins/notes-ui/tab?treeid=echo", &cookie, None).await;
    assert!(
        page.text.contains("<strong id=\"username\">admin</strong>") && page.text.contains("echo"),
        "{}",
        page.text
    );
    let for_notes = bound(&p, &s.ticket, "notes-ui").await;
    assert_ne!(for_notes, s.ticket);
    assert_eq!(extension_check(&p, &for_notes).await.0, 200);
    // The session's own ticket is no good at the extension (auth: audience).
    assert_eq!(extension_check(&p, &s.ticket).await.0, 403);
    // Under the stock access control only the extensions listed in config/core.yaml reach auth's
    // ticket check: echo's sidecar is refused by auth's.
    let url = format!("{}/v1.0/invoke/auth/method/v1/tickets/check", p.dapr_url("echo"));
    let (status, body) = call("POST", &url, Some(json!({"ticket": for_notes}))).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["code"].is_null() && body["errorCode"].is_string(),
        "the sidecar's refusal, not auth's: {body}"
    );

    // Logout needs the defence too, then revokes: keel and the extension refuse the old tickets.
    refused(&browser(&p, "POST", "/console/api/logout", &no_token, None).await, 403, "ERR_CSRF");
    let a = browser(&p, "POST", "/console/api/logout", &s.unsafe_headers(&p), None).await;
    assert_eq!(a.status, 204, "{}", a.text);
    for name in ["keel_session", "keel_csrf"] {
        assert!(
            a.cookie(name).is_some_and(|c| c.contains("Max-Age=0")),
            "{name} cleared: {:?}",
            a.set_cookies
        );
    }
    refused(&browser(&p, "GET", "/console/api/me", &cookie, None).await, 401, "ERR_TICKET_INVALID");
    refused(&browser(&p, "GET", "/plugins/notes-ui/api/me", &cookie, None).await, 401, "ERR_TICKET_INVALID");
    let (status, body) = extension_check(&p, &for_notes).await;
    assert_eq!(status, 401, "the extension's own check fails after logout: {body}");
    // Without any cookie the console API says so.
    refused(&browser(&p, "GET", "/console/api/me", &[], None).await, 401, "ERR_UNAUTHENTICATED");
}
