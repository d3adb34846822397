//! TCP the way Go's `net` package makes it, for every HTTP hop on the platform: `TCP_NODELAY` on
//! every connection, dialled or accepted. daprd (and most Dapr apps) are Go, which sets it by
//! default; actix-web and awc do not, and without it a streamed body meets Nagle's algorithm:
//! the body's last piece, smaller than a segment, waits until the peer acknowledges what went
//! before, which the peer's delayed ACK holds back for up to 40 ms (issue 19: 1 MiB bodies through
//! keel at p90 47 ms where the sidecars alone took 10 ms).
//!
//! - servers: `HttpServer::new(...).tcp_nodelay(true)` (or [`NODELAY`]);
//! - clients: `awc::Client::builder().connector(http::connector())`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_tls::connect::{ConnectError, ConnectInfo, Connection, ConnectorService};
use actix_web::dev::Service;
use actix_web::http::Uri;
use tokio::net::TcpStream;

/// Set on every accepted connection: `HttpServer::tcp_nodelay(NODELAY)`.
pub const NODELAY: bool = true;

/// awc's connector with `TCP_NODELAY` on every connection it opens (the rest as
/// `awc::Connector::new()`: the system resolver, no TLS).
pub fn connector() -> awc::Connector<NoDelay> {
    awc::Connector::new().connector(NoDelay(ConnectorService::default()))
}

/// awc's TCP connector, setting `TCP_NODELAY` on what it connects.
#[derive(Clone, Default)]
pub struct NoDelay(ConnectorService);

impl Service<ConnectInfo<Uri>> for NoDelay {
    type Response = Connection<Uri, TcpStream>;
    type Error = ConnectError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, ConnectError>>>>;

    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<Result<(), ConnectError>> {
        Service::<ConnectInfo<Uri>>::poll_ready(&self.0, cx)
    }

    fn call(&self, req: ConnectInfo<Uri>) -> Self::Future {
        let connecting = self.0.call(req);
        Box::pin(async move {
            let conn = connecting.await?;
            // A socket that refuses the option still works, only with Nagle: not a failure.
            if let Err(e) = conn.io_ref().set_nodelay(true) {
                tracing::debug!(error = %e, "TCP_NODELAY not set");
            }
            Ok(conn)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_rt::test]
    async fn connections_are_opened_with_nodelay() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let uri: Uri = format!("http://127.0.0.1:{port}/").parse().unwrap();
        let conn = NoDelay::default().call(ConnectInfo::new(uri)).await.unwrap();
        assert!(conn.io_ref().nodelay().unwrap());
        // awc's default connector does not: what this module is for.
        let conn = ConnectorService::default()
            .call(ConnectInfo::new(format!("http://127.0.0.1:{port}/").parse::<Uri>().unwrap()))
            .await
            .unwrap();
        assert!(!conn.io_ref().nodelay().unwrap());
    }
}
