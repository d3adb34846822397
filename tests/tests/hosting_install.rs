//! Installing a bundle: served on both doors (the app port's `/plugin_service/<root>/` through a
//! real sidecar hop, the local port's `/<root>/`) with the prefix stripped and
//! `X-Forwarded-Prefix` set, bodies streamed both ways, output readable; uninstalling leaves no
//! process, no port, no route and no files, even while the service is still starting (a platform
//! stop ends a starting service the same way). Also the seed's own start script, unmodified.

mod hosting_support;

use hosting_support::*;
use keel_e2e::{eventually, Platform};

#[actix_rt::test]
async fn an_installed_bundle_is_served_on_both_doors_and_uninstall_leaves_nothing() {
    let mut p = Platform::new();
    let h = start(&mut p, &[]).await;

    let (status, v) = install(&p, hello_bundle("hello-app", "1.0.0", "hello", "ada")).await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["service"]["root_route"], "hello");
    let view = wait_status(&p, "hello-app", "RUNNING").await;
    let (pid, port) = (view["pid"].as_i64().unwrap(), view["port"].as_u64().unwrap() as u16);
    assert_eq!(view["is_open"], false);
    assert_eq!(view["restarts"], 0);
    assert!(alive(pid));

    // Inside: the local port, prefix /<root>.
    let (status, v) = call("GET", &format!("{}/hello/hello?x=1&y=%2F", h.local), None).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (v["hello"].as_str(), v["path"].as_str(), v["query"].as_str()),
        (Some("ada"), Some("/hello"), Some("x=1&y=%2F"))
    );
    assert_eq!(v["prefix"], "/hello");
    // keel's identity headers are not believed on the local port.
    let (_, _, body) =
        raw("GET", &format!("{}/hello/hello", h.local), None, &[("x-keel-user", "mallory")]).await;
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["user"], "");

    // The app door, through hosting's sidecar: prefix /plugin_service/<root>.
    let (status, v) = call("GET", &app_door(&p, "hello/hello?from=keel"), None).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (v["prefix"].as_str(), v["query"].as_str()),
        (Some("/plugin_service/hello"), Some("from=keel"))
    );
    let (status, _, body) = raw("GET", &app_door(&p, "hello/"), None, &[]).await;
    assert_eq!((status, body.as_slice()), (200, b"Hello World!".as_slice()));

    // Bodies stream both ways, unchanged.
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let (status, headers, body) = raw(
        "POST",
        &app_door(&p, "hello/echo"),
        Some(big.clone()),
        &[("content-type", "application/x-test")],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(headers.get("content-type").unwrap(), "application/x-test");
    assert!(body == big, "echoed body differs ({} bytes back)", body.len());

    // Unknown roots are 404 naming the root; the output is readable.
    let (status, v) = call("GET", &format!("{}/nope/x", h.local), None).await;
    assert_eq!((status, v["code"].as_str()), (404, Some("ERR_UNKNOWN_ROOT")), "{v}");
    assert!(v["msg"].as_str().unwrap().contains("\"nope\""), "{v}");
    let out = logs(&p, "hello-app", "tail=5").await;
    assert!(out.contains(&format!("hosted-hello: pid {pid}, port {port}")), "{out}");

    // Uninstall: process gone, port free, route gone, files gone.
    let (status, v) = uninstall(&p, "hello-app").await;
    assert_eq!(status, 200, "{v}");
    assert!(!alive(pid), "the service still runs");
    assert!(port_free(port), "port {port} still taken");
    let (status, v) = call("GET", &format!("{}/hello/hello", h.local), None).await;
    assert_eq!((status, v["code"].as_str()), (404, Some("ERR_UNKNOWN_ROOT")));
    let (status, _) = call("GET", &app_door(&p, "hello/hello"), None).await;
    assert_eq!(status, 404);
    assert!(list(&p).await.is_empty());
    assert!(!h.data_dir.join("services/hello-app").exists());
    assert!(processes_in(&h.data_dir).is_empty(), "{:?}", processes_in(&h.data_dir));
    let (status, _) = uninstall(&p, "hello-app").await;
    assert_eq!(status, 404);
}

#[actix_rt::test]
async fn the_seeds_own_start_script_runs_a_bundle_of_the_example_binary() {
    let mut p = Platform::new();
    let h = start(&mut p, &[]).await;
    let (status, v) =
        install(&p, bundle_with_script("seeded", "1.0.0", "file_storage", "name", &seed_script())).await;
    assert_eq!(status, 201, "{v}");
    let view = wait_status(&p, "seeded", "RUNNING").await;
    let pid = view["pid"].as_i64().unwrap();

    let (status, _, body) = raw("GET", &format!("{}/file_storage/", h.local), None, &[]).await;
    assert_eq!((status, body.as_slice()), (200, b"Hello World!".as_slice()));
    let (_, v) = call("GET", &format!("{}/file_storage/hello", h.local), None).await;
    assert_eq!(v["args"], "name");
    // The seed's script sends the service's output to nohup.out; the API reads it.
    let out = eventually("output in nohup.out", PATIENCE, || async {
        let out = logs(&p, "seeded", "source=nohup").await;
        out.contains("hosted-hello: pid").then_some(out)
    })
    .await;
    assert!(out.contains(&format!("pid {pid}")), "{out}");

    // Its stop (kill -9 of pid.txt) ends the service.
    let (status, _) = uninstall(&p, "seeded").await;
    assert_eq!(status, 200);
    assert!(!alive(pid));
    assert!(processes_in(&h.data_dir).is_empty());
}

#[actix_rt::test]
async fn a_service_stopped_while_it_starts_leaves_no_process() {
    let mut p = Platform::new();
    let h = start(&mut p, &[]).await;
    // Uninstalled while its start script still sleeps (no pid.txt yet): the script's whole
    // process group goes.
    let bundle = bundle_with_script("slowpoke", "1.0.0", "slowpoke", "", &slow_start_script(5));
    assert_eq!(install(&p, bundle).await.0, 201);
    wait_script_running(&p, &h, "slowpoke").await;
    let (status, v) = uninstall(&p, "slowpoke").await;
    assert_eq!(status, 200, "{v}");
    assert!(processes_in(&h.data_dir).is_empty(), "left {:?}", processes_in(&h.data_dir));
    assert!(list(&p).await.is_empty());
}
