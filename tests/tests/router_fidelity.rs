//! What a plugin receives through keel is what it would receive called directly, and what it
//! answers comes back unchanged: every verb, the raw query, repeated headers, trace context,
//! binary and empty bodies, and every kind of status.

mod router_support;

use keel_e2e::Platform;
use router_support::*;
use serde_json::Value;

/// keel, the plugin `up`, and the caller `caller` (a plugin without an app: only its sidecar).
async fn platform() -> Platform {
    let mut p = Platform::new();
    p.start(keel_e2e::AppSpec::sidecar_only("caller")).await;
    seed(&p, "caller", &table(1, &[("up", "ACTIVE"), ("caller", "ACTIVE")])).await;
    p.start(upstream("up")).await;
    p.start(keel(&[])).await;
    wait_routes(&p, 1).await;
    p
}

/// Headers the two paths legitimately differ in: who the last hop was.
fn comparable(mut v: Value) -> Value {
    if let Some(h) = v["headers"].as_object_mut() {
        for name in [
            "dapr-caller-app-id",
            "x-keel-caller",
            "forwarded",
            "x-forwarded-for",
            "x-forwarded-host",
            "date",
        ] {
            h.remove(name);
        }
    }
    v
}

#[actix_rt::test]
async fn every_verb_query_header_and_body_arrives_as_sent_directly() {
    let p = platform().await;
    let endpoint = "some/deep/path%20x?b=2&a=1&a=%2F&plus=a+b&empty=&flag";
    for method in ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
        let build = |req: awc::ClientRequest| {
            req.insert_header(("x-multi", "one"))
                .append_header(("x-multi", "two"))
                .insert_header(("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"))
                .insert_header(("tracestate", "vendor=1"))
                .insert_header(("content-type", "text/plain"))
        };
        let via_keel = call(&p, "caller", method, &format!("up/{endpoint}"));
        let mut res = build(via_keel).send_body("payload").await.unwrap();
        assert_eq!(res.status(), 200, "{method}");
        let got: Value = serde_json::from_slice(&res.body().await.unwrap()).unwrap();
        assert_eq!(got["method"], method);
        assert_eq!(got["path"], "/some/deep/path%20x");
        assert_eq!(got["query"], "b=2&a=1&a=%2F&plus=a+b&empty=&flag");
        assert_eq!(got["headers"]["x-multi"], serde_json::json!(["one", "two"]));
        assert_eq!(got["headers"]["x-keel-caller"], serde_json::json!(["caller"]), "keel says who called");
        assert_eq!(got["headers"]["dapr-caller-app-id"], serde_json::json!(["keel"]));

        let mut res = build(direct(&p, "caller", method, "up", endpoint)).send_body("payload").await.unwrap();
        let want: Value = serde_json::from_slice(&res.body().await.unwrap()).unwrap();
        assert_eq!(comparable(got), comparable(want), "{method}: through keel vs direct");
    }
}

#[actix_rt::test]
async fn every_status_comes_back_with_the_plugins_headers_and_body() {
    let p = platform().await;
    for code in [200u16, 201, 202, 204, 301, 302, 304, 400, 401, 403, 404, 409, 422, 500, 502, 503] {
        let (got, headers, body) = send(call(&p, "caller", "GET", &format!("up/status/{code}"))).await;
        assert_eq!(got, code);
        assert_eq!(headers.get("x-upstream").map(|v| v.as_bytes()), Some(&b"yes"[..]), "{code}");
        assert!(headers.get("x-keel-error").is_none(), "{code} is the plugin's answer, not keel's");
        if (300..400).contains(&code) && code != 304 {
            assert_eq!(headers.get("location").unwrap(), "/moved/here");
        }
        if code != 204 && code != 304 {
            assert_eq!(body["msg"], format!("upstream says {code}"), "{code}");
        }
    }
}

#[actix_rt::test]
async fn binary_and_empty_bodies_pass_both_ways() {
    let p = platform().await;
    let blob: Vec<u8> = (0..=255u8).cycle().take(1 << 20).collect();
    let mut res = call(&p, "caller", "POST", "up/body")
        .insert_header(("content-type", "application/octet-stream"))
        .send_body(blob.clone())
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers().get("content-type").unwrap(), "application/octet-stream");
    assert_eq!(res.body().limit(4 << 20).await.unwrap(), blob);

    for method in ["POST", "PUT"] {
        let mut res = call(&p, "caller", method, "up/body").send_body("").await.unwrap();
        assert_eq!(res.status(), 200);
        assert!(res.body().await.unwrap().is_empty());
    }
    let (status, _, described) = send(call(&p, "caller", "GET", "up/anything")).await;
    assert_eq!(status, 200);
    assert_eq!(described["body_len"], 0);

    // A body sent without a length (chunked) arrives whole.
    let chunks = futures_util::stream::iter(
        blob.chunks(100_000)
            .map(|c| Ok::<_, std::io::Error>(bytes::Bytes::copy_from_slice(c)))
            .collect::<Vec<_>>(),
    );
    let mut res = call(&p, "caller", "POST", "up/body").send_stream(chunks).await.unwrap();
    assert_eq!(res.body().limit(4 << 20).await.unwrap(), blob);
}

#[actix_rt::test]
async fn concurrent_callers_each_get_their_own_answer() {
    let p = platform().await;
    let mut tasks = Vec::new();
    for worker in 0..16 {
        let reqs: Vec<_> =
            (0..40).map(|i| (i, call(&p, "caller", "POST", &format!("up/w{worker}?i={i}")))).collect();
        tasks.push(actix_rt::spawn(async move {
            for (i, req) in reqs {
                let body = format!("worker {worker} call {i}");
                let mut res = req.send_body(body.clone()).await.unwrap();
                assert_eq!(res.status(), 200, "worker {worker} call {i}");
                let seen: Value = serde_json::from_slice(&res.body().await.unwrap()).unwrap();
                assert_eq!(seen["path"], format!("/w{worker}"));
                assert_eq!(seen["query"], format!("i={i}"));
                assert_eq!(seen["body"], serde_json::json!(body.as_bytes()));
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}
