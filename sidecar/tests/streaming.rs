//! Bodies are streamed both ways and never buffered: a 300 MB upload and a 300 MB answer pass
//! app → sidecar → sidecar → app while the sidecars' peak memory stays far below the body size;
//! and a body over `--max-body-size` fails with "stream too large".

mod common;

use common::http::{connect, read_response_counting, req, write_pattern};
use common::run::peak_rss;
use std::io::Write;
use std::sync::atomic::Ordering;

const MB: u64 = 1024 * 1024;

fn transfer(port: u16, target: &str, size: u64, chunked: bool) -> u64 {
    let mut conn = connect(port);
    let framing =
        if chunked { "Transfer-Encoding: chunked".to_owned() } else { format!("Content-Length: {size}") };
    let head = format!(
        "POST /v1.0/invoke/{target}/method/count?reply={size} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/octet-stream\r\n{framing}\r\n\r\n"
    );
    conn.write_all(head.as_bytes()).unwrap();
    let mut writer = conn.try_clone().unwrap();
    let upload = std::thread::spawn(move || write_pattern(&mut writer, size, chunked));
    let (status, headers, received) = read_response_counting(&mut conn);
    upload.join().unwrap();
    assert_eq!(status, 200, "{headers:?}");
    assert!(headers.iter().all(|(k, _)| k != "content-length"), "streamed, not buffered: {headers:?}");
    received
}

#[test]
fn a_300_mb_body_streams_both_ways_through_two_sidecars_in_bounded_memory() {
    let f = common::fleet("", &[("caller", "maxBodySize: 1Gi"), ("callee", "")], &[]);
    let size = 300 * MB;
    assert_eq!(transfer(f.port(0), "callee", size, false), size);
    assert_eq!(f.apps[1].state.counted.load(Ordering::SeqCst), size);
    // A chunked (streaming) upload takes the same path without a length.
    assert_eq!(transfer(f.port(0), "callee", 64 * MB, true), 64 * MB);
    assert_eq!(f.apps[1].state.counted.load(Ordering::SeqCst), 64 * MB);
    let peak = peak_rss(f.run.pid());
    eprintln!("sidecar peak RSS: {} MB", peak / MB);
    assert!(peak < 100 * MB, "sidecar peak RSS {} MB for a {} MB body", peak / MB, size / MB);
}

#[test]
fn an_invocation_body_over_the_limit_is_stream_too_large() {
    let f = common::fleet("", &[("tiny", "maxBodySize: 1Ki"), ("other", "")], &[]);
    for target in ["tiny", "other"] {
        let r = req("POST", &format!("/v1.0/invoke/{target}/method/count"))
            .body(vec![b'x'; 64 * 1024])
            .send(f.port(0));
        assert_eq!(r.status, 500, "{target}: {}", r.text());
        let v = r.json();
        assert_eq!(v["errorCode"], "ERR_DIRECT_INVOKE");
        assert!(v["message"].as_str().unwrap().contains("stream too large"), "{v}");
    }
}
