//! `notes-ui`: a plugin with its own web UI inside the Keel console (issue 16, the TarsWeb
//! model). It declares two console entries in `/v1/identify`: a tab on each plugin's page
//! (type 2, `/plugins/notes-ui/tab`, which gets the plugin's id as `?treeid=`) and an entry in the
//! console's top bar (type 1, `/plugins/notes-ui/`). keel proxies both to this plugin with
//! `x-keel-ticket` (and a tab on the operations page, type 3, `/plugins/notes-ui/ops`), a ticket bound to `notes-ui`; the back end asks auth (through its own
//! sidecar, with the kit) who it is and what they may do here, and shows the user's name.
//!
//! Everything it serves is under `/plugins/notes-ui/` ("all your service's requests must be
//! under this path"). `GET /plugins/notes-ui/api/me` answers the same as JSON.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use keel_sdk::dapr::DaprClient;
use keel_sdk::management::tickets::Action;
use keel_sdk::plugin::tickets::{check_ticket, has_permission, ticket_of, TicketError};
use keel_sdk::plugin::PluginSpec;
use keel_sdk::protocol::ConsoleEntry;
use serde::{Deserialize, Serialize};

/// The plugin's id, and so its group under `/plugins/`.
const ID: &str = "notes-ui";

/// The pages' own policy: nothing but this origin, no script at all.
const CSP: &str =
    "default-src 'none'; style-src 'self'; frame-ancestors 'self'; base-uri 'none'; form-action 'none'";

/// Who is looking, as the back end learned it from auth.
#[derive(Serialize)]
struct Viewer {
    username: String,
    tenant: String,
    /// May they develop (use) this plugin, and administer it (TarsWeb's developer and admin).
    may_develop: bool,
    may_administer: bool,
    /// The plugin whose page the tab is on (`?treeid=`), when opened as a type-2 tab.
    treeid: Option<String>,
}

#[derive(Deserialize)]
struct Tree {
    treeid: Option<String>,
}

/// Checks the request's ticket and the permissions with auth.
async fn viewer(
    req: &HttpRequest,
    dapr: &DaprClient,
    treeid: Option<String>,
) -> Result<Viewer, (u16, String)> {
    let Some(ticket) = ticket_of(req) else {
        return Err((401, "No login ticket arrived: open this page from the Keel console.".into()));
    };
    let refused = |e: TicketError| (e.status().as_u16(), format!("The login ticket was not accepted: {e}."));
    let user = check_ticket(dapr, ticket).await.map_err(refused)?;
    let may_develop = has_permission(dapr, ticket, ID, Action::Develop).await.map_err(refused)?;
    let may_administer = has_permission(dapr, ticket, ID, Action::Administer).await.map_err(refused)?;
    Ok(Viewer { username: user.username, tenant: user.tenant, may_develop, may_administer, treeid })
}

/// Escapes text for HTML.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn page(title: &str, body: &str, status: u16) -> HttpResponse {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{t}</title>\
<link rel=\"stylesheet\" href=\"/plugins/notes-ui/notes.css\"></head>\
<body><main><h1>{t}</h1>{body}</main></body></html>",
        t = esc(title)
    );
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap_or_default())
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(html)
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// The tab and the top-bar page: who is looking and what they may do.
async fn ui(req: HttpRequest, dapr: web::Data<DaprClient>, q: web::Query<Tree>) -> HttpResponse {
    match viewer(&req, &dapr, q.into_inner().treeid).await {
        Ok(v) => {
            let tree = match &v.treeid {
                Some(t) => format!("<p>Notes for plugin <strong id=\"treeid\">{}</strong>.</p>", esc(t)),
                None => "<p>Notes for the whole platform.</p>".into(),
            };
            let body = format!(
                "<p class=\"who\">Signed in as <strong id=\"username\">{}</strong> (tenant {}).</p>{tree}\
<dl><dt>May use notes</dt><dd id=\"may-develop\">{}</dd><dt>May administer notes</dt><dd id=\"may-administer\">{}</dd></dl>",
                esc(&v.username),
                esc(&v.tenant),
                yes_no(v.may_develop),
                yes_no(v.may_administer)
            );
            page("Notes", &body, 200)
        }
        Err((status, msg)) => {
            page("Notes", &format!("<p class=\"error\" role=\"alert\">{}</p>", esc(&msg)), status)
        }
    }
}

/// The same as JSON.
async fn me(req: HttpRequest, dapr: web::Data<DaprClient>, q: web::Query<Tree>) -> HttpResponse {
    match viewer(&req, &dapr, q.into_inner().treeid).await {
        Ok(v) => HttpResponse::Ok().json(v),
        Err((status, msg)) => {
            HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap_or_default())
                .json(serde_json::json!({ "ret": -i32::from(status), "msg": msg }))
        }
    }
}

async fn css() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(include_str!("notes.css"))
}

fn entry(name: &str, name_en: &str, kind: u8, path: &str) -> ConsoleEntry {
    ConsoleEntry { name: name.into(), name_en: name_en.into(), kind, path: path.into(), external: 0 }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    keel_sdk::telemetry::init(ID);
    let plugin = PluginSpec::new(ID, env!("CARGO_PKG_VERSION"))
        .console_entry(entry("笔记", "Notes", 2, "/plugins/notes-ui/tab"))
        .console_entry(entry("笔记首页", "Notes home", 1, "/plugins/notes-ui/"))
        .console_entry(entry("笔记运维", "Notes operations", 3, "/plugins/notes-ui/ops"))
        .build()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    keel_sdk::plugin::serve(plugin, keel_sdk::config::app_listen_addr(), |cfg| {
        // One sidecar client per worker (awc clients are per thread).
        cfg.app_data(web::Data::new(DaprClient::from_env()))
            .route("/plugins/notes-ui/", web::get().to(ui))
            // The type-1 entry's path ends in "/", which reaches the plugin without it (the
            // invocation path's trailing slash is not kept on the way through the sidecars).
            .route("/plugins/notes-ui", web::get().to(ui))
            .route("/plugins/notes-ui/tab", web::get().to(ui))
            .route("/plugins/notes-ui/ops", web::get().to(ui))
            .route("/plugins/notes-ui/api/me", web::get().to(me))
            .route("/plugins/notes-ui/notes.css", web::get().to(css));
    })
    .await
}
