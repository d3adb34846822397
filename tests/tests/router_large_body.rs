//! Bodies stream through keel in both directions: a 500 MiB upload and a 500 MiB download, each
//! generated as a stream, pass while keel's peak resident memory (`VmHWM`) stays flat.

mod router_support;

use std::time::Duration;

use bytes::Bytes;
use keel_e2e::{AppSpec, Platform};
use router_support::*;
use serde_json::Value;

const SIZE: u64 = 500 << 20;
/// keel's peak memory may grow by this much at most while 500 MiB pass through it.
const FLAT: u64 = 32 << 10; // kB
/// The pattern `router-upstream` checks and sends: byte `i` is `i % 251`.
const CHUNK: usize = 251 * 261;

fn big(spec: AppSpec) -> AppSpec {
    spec.sidecar_args(&["--max-body-size", "1Gi"])
}

fn pattern_stream(total: u64) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    let chunk: Bytes = (0..CHUNK).map(|i| (i % 251) as u8).collect::<Vec<u8>>().into();
    futures_util::stream::unfold(0u64, move |sent| {
        let chunk = chunk.clone();
        async move {
            (sent < total).then(|| {
                let len = (total - sent).min(CHUNK as u64) as usize;
                (Ok(chunk.slice(..len)), sent + len as u64)
            })
        }
    })
}

fn patient() -> awc::Client {
    awc::Client::builder().timeout(Duration::from_secs(300)).disable_redirects().finish()
}

#[actix_rt::test]
async fn a_500_mib_body_streams_both_ways_with_keels_memory_flat() {
    let mut p = Platform::new();
    p.start(big(AppSpec::sidecar_only("caller"))).await;
    seed(&p, "caller", &table(1, &[("up", "ACTIVE"), ("caller", "ACTIVE")])).await;
    p.start(big(upstream("up"))).await;
    p.start(big(keel(&[("KEEL_MAX_BODY_BYTES", "1073741824"), ("KEEL_UPSTREAM_TIMEOUT_MS", "300000")])))
        .await;
    wait_routes(&p, 1).await;
    let keel_pid = app_pid(&p, KEEL);
    let url = |path: &str| format!("{}/v1.0/invoke/keel/method/up/{path}", p.dapr_url("caller"));

    // Warm up: buffers and connection pools reach their working size.
    for _ in 0..4 {
        let res = patient().post(url("count")).send_stream(pattern_stream(4 << 20)).await.unwrap();
        assert_eq!(res.status(), 200);
    }
    let before = proc_kb(keel_pid, "VmHWM");

    let mut res = patient().post(url("count")).send_stream(pattern_stream(SIZE)).await.unwrap();
    assert_eq!(res.status(), 200);
    let counted: Value = serde_json::from_slice(&res.body().await.unwrap()).unwrap();
    assert_eq!(counted["bytes"], SIZE, "{counted}");
    assert_eq!(counted["pattern_ok"], true);
    let after_upload = proc_kb(keel_pid, "VmHWM");

    let mut res = patient().get(url(&format!("download/{SIZE}"))).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let (mut received, mut ok) = (0u64, true);
    while let Some(chunk) = futures_util::StreamExt::next(&mut res).await {
        let chunk = chunk.unwrap();
        // Sample the pattern every 4 KiB: cheap, and catches lost or reordered chunks.
        let mut i = (4096 - received % 4096) % 4096;
        while (i as usize) < chunk.len() {
            ok &= u64::from(chunk[i as usize]) == (received + i) % 251;
            i += 4096;
        }
        received += chunk.len() as u64;
    }
    assert_eq!(received, SIZE);
    assert!(ok, "the downloaded bytes are not the pattern sent");
    let after_download = proc_kb(keel_pid, "VmHWM");

    eprintln!(
        "keel VmHWM: {before} kB before, {after_upload} kB after upload, {after_download} kB after download"
    );
    assert!(
        after_upload - before < FLAT,
        "upload grew keel's peak memory from {before} kB to {after_upload} kB"
    );
    assert!(
        after_download - before < FLAT,
        "download grew keel's peak memory from {before} kB to {after_download} kB"
    );
}
