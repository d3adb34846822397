//! `hosted-hello`: a small web service of the kind hosting runs (a plugin's own web service, the
//! seed's `hello_service`). It takes `--port=<N>` and `--args=<args>` as the platform passes
//! them, writes its PID to `./pid.txt` as the seed's recipe says, and serves:
//!
//! - `GET /`: `Hello World!` (the seed's answer);
//! - `GET /hello?...`: JSON with its args, the `X-Forwarded-Prefix` it was reached under (to
//!   build links with), the path and query it received, who keel says is calling
//!   (`x-keel-user`), whether any credential reached it (`Authorization`, `x-keel-ticket`: none
//!   should, keel and hosting keep them), and its PID;
//! - `POST /echo`: the request body back, streamed.
//!
//! Started by `bundles/hosted-hello/workspace/start.sh` (ours) or by the seed's own script.

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};

fn flag(name: &str) -> Option<String> {
    std::env::args().find_map(|a| a.strip_prefix(&format!("--{name}=")).map(str::to_owned))
}

async fn hello(req: HttpRequest, args: web::Data<String>) -> HttpResponse {
    let header = |n: &str| req.headers().get(n).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    HttpResponse::Ok().json(serde_json::json!({
        "hello": if args.is_empty() { "world" } else { args.as_str() },
        "args": args.as_str(),
        "prefix": header("x-forwarded-prefix"),
        "path": req.path(),
        "query": req.query_string(),
        "user": header("x-keel-user"),
        "got_authorization": req.headers().contains_key("authorization"),
        "got_ticket": req.headers().contains_key("x-keel-ticket"),
        "pid": std::process::id(),
    }))
}

async fn echo(req: HttpRequest, body: web::Payload) -> HttpResponse {
    let mut res = HttpResponse::Ok();
    if let Some(ct) = req.headers().get("content-type") {
        res.insert_header(("content-type", ct.clone()));
    }
    res.streaming(body)
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = match flag("port").and_then(|p| p.parse().ok()) {
        Some(p) => p,
        None => {
            eprintln!("usage: hosted-hello --port=<N> [--args=<args>]");
            std::process::exit(2);
        }
    };
    let args = flag("args").unwrap_or_default();
    let pid = std::process::id();
    println!("hosted-hello: pid {pid}, port {port}, args {args:?}");
    // The platform reads the PID from here (the seed's pid.txt, in the working folder).
    std::fs::write("pid.txt", pid.to_string())?;
    let data = web::Data::new(args);
    HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/", web::get().to(|| async { HttpResponse::Ok().body("Hello World!") }))
            .route("/hello", web::get().to(hello))
            .route("/echo", web::post().to(echo))
    })
    .workers(1)
    .shutdown_timeout(1)
    // Loopback only: hosting reaches it there, and nothing else should (the port range has no
    // login; keel's and is_open's checks are on the way through hosting).
    .bind(("127.0.0.1", port))?
    .run()
    .await
}
