//! Keel's web console: static pages (vanilla HTML, CSS and JavaScript) embedded in the binary and
//! mounted by keel's public port at `/console/`, so the stock `dapr.yaml` serves it with nothing
//! else to install or build. The pages read the platform's own APIs through the same port
//! (`/apis/plugins/...`, `/apis/auth/...`) and keel's session endpoints (`/console/api/...`,
//! served by keel, not here).
//!
//! Every answer carries a strict Content-Security-Policy (only this origin's scripts and styles,
//! frames from this origin only: extensions live under `/plugins/` on the same port), and
//! `nosniff`. The page links its assets with a content hash (`?v=`), so assets are cached for a
//! day and revalidated by `ETag`; the page itself is always revalidated.
//!
//! ```no_run
//! use actix_web::{App, HttpServer};
//! # async fn demo() -> std::io::Result<()> {
//! HttpServer::new(|| App::new().configure(keel_console::configure)).bind("127.0.0.1:8000")?.run().await
//! # }
//! ```

#![forbid(unsafe_code)]

use std::sync::LazyLock;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};

/// Where the console lives on keel's public port.
pub const PREFIX: &str = "/console";

/// The policy every console answer carries: nothing from elsewhere, no inline script or style,
/// frames (extensions) from this origin only, and the console itself framed by nobody else.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'self'";

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "console.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/console.js"),
    },
    Asset {
        name: "console.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../assets/console.css"),
    },
];

const INDEX: &str = include_str!("../assets/index.html");

/// A short content hash of every asset: the `?v=` of the page's links and the assets' `ETag`.
static VERSION: LazyLock<String> = LazyLock::new(|| {
    // FNV-1a: no need for a cryptographic hash to tell two builds' assets apart.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in ASSETS.iter().flat_map(|a| a.body.iter()).chain(INDEX.as_bytes()) {
        h = (h ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
});

static PAGE: LazyLock<String> = LazyLock::new(|| INDEX.replace("{{v}}", &VERSION));

/// Mounts the console: `GET /console` (redirect), `GET /console/` (the page) and
/// `GET /console/assets/<file>`. Register keel's `/console/api/...` resources before this.
pub fn configure(cfg: &mut web::ServiceConfig) {
    // The assets sit in a scope: its static prefix is checked before the `{file}` pattern, whose
    // match is a regex that every request to the public port ran otherwise (about 1% of keel's
    // instructions per forwarded request, docs/benchmarks-cpu.md).
    cfg.route(PREFIX, web::get().to(redirect)).route(&format!("{PREFIX}/"), web::get().to(page)).service(
        web::scope(&format!("{PREFIX}/assets"))
            .route("/{file}", web::get().to(asset))
            .default_service(web::to(no_such_file)),
    );
}

/// The headers every console answer carries.
fn secured(mut res: HttpResponse) -> HttpResponse {
    let h = res.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("SAMEORIGIN"));
    res
}

async fn redirect() -> HttpResponse {
    secured(HttpResponse::PermanentRedirect().insert_header((header::LOCATION, "/console/")).finish())
}

async fn page() -> HttpResponse {
    secured(
        HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-cache"))
            .body(PAGE.as_str()),
    )
}

/// 404 for a path under the assets that names none.
async fn no_such_file() -> HttpResponse {
    secured(
        HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("The console has no such file."),
    )
}

async fn asset(req: HttpRequest, file: web::Path<String>) -> HttpResponse {
    let Some(asset) = ASSETS.iter().find(|a| a.name == file.as_str()) else { return no_such_file().await };
    let etag = format!("\"{}\"", *VERSION);
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut res = if fresh { HttpResponse::NotModified() } else { HttpResponse::Ok() };
    res.insert_header((header::ETAG, etag)).insert_header((header::CACHE_CONTROL, "public, max-age=86400"));
    if fresh {
        return secured(res.finish());
    }
    secured(res.content_type(asset.content_type).body(asset.body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::{test, App};

    #[actix_web::test]
    async fn the_page_links_versioned_assets_under_a_strict_policy() {
        let app = test::init_service(App::new().configure(configure)).await;
        let res = test::call_service(&app, test::TestRequest::get().uri("/console/").to_request()).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers().get("content-security-policy").unwrap(), CSP);
        assert_eq!(res.headers().get("cache-control").unwrap(), "no-cache");
        let body = String::from_utf8(test::read_body(res).await.to_vec()).unwrap();
        assert!(body.contains(&format!("/console/assets/console.js?v={}", *VERSION)), "{body}");
        assert!(!body.contains("{{v}}") && !body.contains("http://") && !body.contains("https://"));

        let res = test::call_service(&app, test::TestRequest::get().uri("/console").to_request()).await;
        assert_eq!(
            (res.status().as_u16(), res.headers().get("location").unwrap().to_str().unwrap()),
            (308, "/console/")
        );
    }

    #[actix_web::test]
    async fn assets_have_their_type_an_etag_and_answer_304_when_unchanged() {
        let app = test::init_service(App::new().configure(configure)).await;
        let res = test::call_service(
            &app,
            test::TestRequest::get().uri("/console/assets/console.css").to_request(),
        )
        .await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers().get("content-type").unwrap(), "text/css; charset=utf-8");
        assert_eq!(res.headers().get("x-content-type-options").unwrap(), "nosniff");
        let etag = res.headers().get("etag").unwrap().clone();
        let again = test::TestRequest::get()
            .uri("/console/assets/console.css")
            .insert_header((header::IF_NONE_MATCH, etag))
            .to_request();
        assert_eq!(test::call_service(&app, again).await.status(), 304);
        let res =
            test::call_service(&app, test::TestRequest::get().uri("/console/assets/nope.js").to_request())
                .await;
        assert_eq!(res.status(), 404);
    }
}
