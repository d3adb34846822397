//! `keel-bench-seat`: the least a Rust HTTP stack does to forward a request from keel's seat, so
//! that `keel-bench instructions --floors` can say how much of keel's CPU per request is its
//! stack's and how much is keel's own. Each stack forwards every request to one upstream prefix
//! (keel's sidecar's invocation URL, as nginx in keel's seat does), streaming both bodies, with
//! nothing else: no token check, no routing, no header rules. One worker on one thread, as nginx
//! runs in the benchmark.
//!
//! - `actix`: actix-web's server and awc's client, keel's own stack.
//! - `hyper`: hyper 1's server and hyper-util's pooled client.
//!
//! `keel-bench-seat --stack actix|hyper --listen 127.0.0.1:<port> --upstream http://127.0.0.1:<sidecar>/v1.0/invoke/echo/method/`
//!
//! It prints `listening` once the port accepts connections.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};

/// keel's allocator, so the floor differs from keel only in what each does per request.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// How long a forwarded request may take before it fails (every outbound call has a timeout).
const TIMEOUT: Duration = Duration::from_secs(30);

/// Forward every request to one upstream prefix with the least one HTTP stack does.
#[derive(Debug, Parser)]
#[command(name = "keel-bench-seat")]
struct Args {
    #[arg(long, value_enum)]
    stack: Stack,
    /// The address to serve on.
    #[arg(long)]
    listen: SocketAddr,
    /// What a request's path (less its leading `/`) is appended to.
    #[arg(long)]
    upstream: String,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Stack {
    Actix,
    Hyper,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let served = match args.stack {
        Stack::Actix => actix_rt::System::new().block_on(actix::serve(args.listen, args.upstream)),
        Stack::Hyper => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .and_then(|rt| rt.block_on(hyper_stack::serve(args.listen, args.upstream.into()))),
    };
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("keel-bench-seat: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The path and query of `uri` less the leading `/`, appended to `upstream`.
fn target(upstream: &str, path_and_query: Option<&str>) -> String {
    let rest = path_and_query.unwrap_or("/");
    format!("{upstream}{}", rest.strip_prefix('/').unwrap_or(rest))
}

mod actix {
    use std::io;
    use std::net::SocketAddr;

    use actix_web::body::SizedStream;
    use actix_web::http::header::{CONNECTION, CONTENT_LENGTH, HOST, TRANSFER_ENCODING};
    use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};

    struct Upstream(String);

    pub async fn serve(listen: SocketAddr, upstream: String) -> io::Result<()> {
        let upstream = web::Data::new(Upstream(upstream));
        let server = HttpServer::new(move || {
            let client = awc::Client::builder()
                .connector(keel_sdk::http::connector())
                .timeout(super::TIMEOUT)
                .finish();
            App::new()
                .app_data(upstream.clone())
                .app_data(web::Data::new(client))
                .default_service(web::to(forward))
        })
        .workers(1)
        .tcp_nodelay(true)
        .disable_signals()
        .bind(listen)?
        .run();
        println!("listening");
        server.await
    }

    async fn forward(
        req: HttpRequest,
        body: web::Payload,
        upstream: web::Data<Upstream>,
        client: web::Data<awc::Client>,
    ) -> HttpResponse {
        let url = super::target(&upstream.0, req.uri().path_and_query().map(|p| p.as_str()));
        let mut up = client.request(req.method().clone(), url);
        for (name, value) in req.headers() {
            if name != HOST && name != CONNECTION {
                up = up.append_header((name.clone(), value.clone()));
            }
        }
        // With its length when it had one, as keel sends it (a chunked body costs more).
        let length = req.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse().ok());
        let sent = match length {
            Some(length) => up.send_body(SizedStream::new(length, body)).await,
            None => up.send_stream(body).await,
        };
        let res = match sent {
            Ok(res) => res,
            Err(e) => return HttpResponse::BadGateway().body(e.to_string()),
        };
        let mut out = HttpResponse::build(res.status());
        let mut length = None;
        for (name, value) in res.headers() {
            if name == CONTENT_LENGTH {
                length = value.to_str().ok().and_then(|v| v.parse().ok());
            } else if name != CONNECTION && name != TRANSFER_ENCODING {
                out.append_header((name.clone(), value.clone()));
            }
        }
        if let Some(length) = length {
            out.no_chunking(length);
        }
        out.streaming(res)
    }
}

mod hyper_stack {
    use std::convert::Infallible;
    use std::io;
    use std::net::SocketAddr;
    use std::sync::Arc;

    use http_body_util::{combinators::BoxBody, BodyExt, Full};
    use hyper::body::{Bytes, Incoming};
    use hyper::header::{CONNECTION, HOST};
    use hyper::{Request, Response, StatusCode};
    use hyper_util::client::legacy::connect::HttpConnector;
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::{TokioExecutor, TokioIo};

    type Body = BoxBody<Bytes, hyper::Error>;

    pub async fn serve(listen: SocketAddr, upstream: Arc<str>) -> io::Result<()> {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client: Client<HttpConnector, Incoming> = Client::builder(TokioExecutor::new()).build(connector);
        println!("listening");
        loop {
            let (stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            let (client, upstream) = (client.clone(), upstream.clone());
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(move |req| forward(client.clone(), upstream.clone(), req));
                // A connection's failure is its client's business; the proxy goes on.
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    }

    async fn forward(
        client: Client<HttpConnector, Incoming>,
        upstream: Arc<str>,
        mut req: Request<Incoming>,
    ) -> Result<Response<Body>, Infallible> {
        let url = super::target(&upstream, req.uri().path_and_query().map(|p| p.as_str()));
        let Ok(uri) = url.parse() else {
            return Ok(failed(StatusCode::BAD_REQUEST, "not a URL".into()));
        };
        *req.uri_mut() = uri;
        req.headers_mut().remove(HOST);
        req.headers_mut().remove(CONNECTION);
        match tokio::time::timeout(super::TIMEOUT, client.request(req)).await {
            Ok(Ok(res)) => Ok(res.map(BodyExt::boxed)),
            Ok(Err(e)) => Ok(failed(StatusCode::BAD_GATEWAY, e.to_string())),
            Err(_) => Ok(failed(StatusCode::GATEWAY_TIMEOUT, "upstream too slow".into())),
        }
    }

    fn failed(status: StatusCode, why: String) -> Response<Body> {
        let body = Full::new(Bytes::from(why)).map_err(|never| match never {}).boxed();
        let mut res = Response::new(body);
        *res.status_mut() = status;
        res
    }
}
