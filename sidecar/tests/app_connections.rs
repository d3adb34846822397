//! Connections to the app: a request that meets a pooled connection the app has closed is sent
//! once more on a fresh one (Go's transport rule, so daprd does it), instead of failing with
//! awc's "connector has been disconnected".

mod common;

use common::http::{get, req};
use common::run::Workspace;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// An app that answers the first request of every connection with keep-alive, then closes the
/// connection when the next request arrives on it, unanswered: the race of an app closing an
/// idle connection just as the sidecar reuses it, made certain.
fn closing_app() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let closed = Arc::new(AtomicUsize::new(0));
    let counter = closed.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let counter = counter.clone();
            std::thread::spawn(move || serve_one_then_close(conn, &counter));
        }
    });
    (port, closed)
}

fn serve_one_then_close(conn: TcpStream, closed: &AtomicUsize) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut writer = conn;
    let mut requests = 0;
    loop {
        // Read one request head (the test sends no bodies to this app).
        let mut saw_line = false;
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) if line == "\r\n" && saw_line => break,
                Ok(_) => saw_line = true,
            }
        }
        requests += 1;
        if requests > 1 {
            closed.fetch_add(1, Ordering::SeqCst);
            return; // dropped unanswered
        }
        let _ = writer.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    }
}

#[test]
fn a_request_on_a_connection_the_app_closed_is_retried_once() {
    let (app_port, closed) = closing_app();
    let ws = Workspace::new();
    let mut run = ws.single(&["-a", "app", "-p", &app_port.to_string()]).start();
    let port = run.ready("app").http_port;
    for i in 0..12 {
        let r = get(port, "/v1.0/invoke/app/method/ping");
        assert_eq!((r.status, r.text().as_str()), (200, "ok"), "call {i}");
    }
    assert!(closed.load(Ordering::SeqCst) > 0, "the sidecar reused pooled connections");
}

#[test]
fn a_non_idempotent_request_is_not_replayed() {
    let (app_port, closed) = closing_app();
    let ws = Workspace::new();
    let mut run = ws.single(&["-a", "app", "-p", &app_port.to_string()]).start();
    let port = run.ready("app").http_port;
    let mut failed = 0;
    for _ in 0..12 {
        let r = req("POST", "/v1.0/invoke/app/method/ping").send(port);
        if r.status != 200 {
            assert_eq!(r.status, 500);
            assert!(r.text().contains("EOF"), "{}", r.text());
            failed += 1;
        }
    }
    // Each POST met by a closing connection failed (net/http does not replay a POST).
    assert_eq!(failed, closed.load(Ordering::SeqCst));
}
