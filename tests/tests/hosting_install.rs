//! Installing a bundle: served on both doors (the app port's `/plugin_service/<root>/` through a
//! real sidecar hop, the local port's `/<root>/`) with the prefix stripped and
//! `X-Forwarded-Prefix` set, bodies streamed both ways, output readable; uninstalling leaves no
//! process, no port, no route and no files, even while the service is still starting (a platform
//! stop ends a starting service the same way). Also the seed's own start script, unmodified.

mod hosting_support;

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use futures_util::{Stream, StreamExt};
use hosting_support::*;
use keel_e2e::{eventually, Platform};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

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

/// A bundle folder as a developer has it: `plugin.yaml`, our start script, the example binary.
fn bundle_folder(dir: &std::path::Path, app_id: &str, root: &str, args: &str) {
    std::fs::create_dir_all(dir.join("workspace")).unwrap();
    std::fs::write(dir.join("plugin.yaml"), manifest(app_id, "1.0.0", root, args, true)).unwrap();
    for (name, data) in [("start.sh", our_start_script()), ("hello_service", hello_binary())] {
        let path = dir.join("workspace").join(name);
        std::fs::write(&path, data).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

#[actix_rt::test]
async fn the_boot_folder_is_installed_at_boot_and_not_again_at_the_next() {
    let mut p = Platform::new();
    // The configured folder: a bundle folder, an archive, and what is no bundle (a broken
    // archive is refused and logged, a text file skipped; the others are installed anyway).
    let boot = p.dir().join("boot-bundles");
    bundle_folder(&boot.join("as-folder"), "boot-folder", "bootfolder", "from a folder");
    let archive = hello_bundle("boot-archive", "1.0.0", "bootarchive", "from an archive");
    std::fs::write(boot.join("as-archive.tar.gz"), archive).unwrap();
    std::fs::write(boot.join("broken.tar.gz"), b"not gzip").unwrap();
    std::fs::write(boot.join("notes.txt"), b"not a bundle").unwrap();
    let h = start(&mut p, &[("KEEL_HOSTING__BUNDLES_DIR", boot.to_str().unwrap())]).await;

    let mut before = Vec::new();
    for (app, root, args) in
        [("boot-folder", "bootfolder", "from a folder"), ("boot-archive", "bootarchive", "from an archive")]
    {
        before.push(wait_status(&p, app, "RUNNING").await);
        let (status, v) = call("GET", &format!("{}/{root}/hello", h.local), None).await;
        assert_eq!((status, v["args"].as_str()), (200, Some(args)), "{v}");
    }
    assert_eq!(list(&p).await.len(), 2, "{:?}", list(&p).await);

    // The next boot finds both installed: started again, not installed a second time.
    let previous = p.stop(HOSTING);
    p.restart(previous).await;
    wait_active(&p).await;
    assert_eq!(list(&p).await.len(), 2);
    for b in &before {
        let again = wait_status(&p, b["app_id"].as_str().unwrap(), "RUNNING").await;
        assert_eq!(again["installed_at_ms"], b["installed_at_ms"], "installed again: {again}");
        assert_eq!(again["restarts"], 0, "{again}");
    }
}

/// Reads `body` until what was read holds `what`.
async fn read_until<S, E>(body: &mut S, seen: &mut String, what: &str)
where
    S: Stream<Item = Result<bytes::Bytes, E>> + Unpin,
    E: std::fmt::Debug,
{
    while !seen.contains(what) {
        let chunk = tokio::time::timeout(PATIENCE, body.next())
            .await
            .unwrap_or_else(|_| panic!("no {what:?} within {PATIENCE:?}; read {seen:?}"))
            .unwrap_or_else(|| panic!("the follow ended before {what:?}; read {seen:?}"))
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[actix_rt::test]
async fn a_log_follow_streams_what_is_written_after_it_started_until_uninstall() {
    let mut p = Platform::new();
    start(&mut p, &[]).await;
    assert_eq!(install(&p, hello_bundle("chatty", "1.0.0", "chatty", "")).await.0, 201);
    let first = wait_status(&p, "chatty", "RUNNING").await;
    let url = format!("{}/v1/services/chatty/logs?follow=true&tail=0", p.app_url(HOSTING));
    let mut res = keel_e2e::client().get(&url).send().await.unwrap();
    assert_eq!(res.status(), 200);

    // A line written once the follow runs: the restarted service's first.
    kill(Pid::from_raw(first["pid"].as_i64().unwrap() as i32), Signal::SIGKILL).unwrap();
    let again = eventually("running again under a new pid", PATIENCE, || async {
        let v = service(&p, "chatty").await;
        (v["status"] == "RUNNING" && v["pid"] != first["pid"]).then_some(v)
    })
    .await;
    let mut seen = String::new();
    read_until(&mut res, &mut seen, &format!("hosted-hello: pid {},", again["pid"])).await;
    assert!(!seen.contains(&format!("pid {},", first["pid"])), "tail=0 sent older lines: {seen}");

    // Uninstalled: the answer ends.
    assert_eq!(uninstall(&p, "chatty").await.0, 200);
    let drained = tokio::time::timeout(PATIENCE, async {
        while let Some(chunk) = res.next().await {
            chunk.unwrap();
        }
    })
    .await;
    assert!(drained.is_ok(), "the follow did not end after the uninstall");
}

#[actix_rt::test]
async fn args_reach_the_service_as_one_argv_entry_with_no_shell_between() {
    let mut p = Platform::new();
    let h = start(&mut p, &[]).await;
    let args = r#"two words; $(touch pwned) `touch pwned2` "dq" 'sq' $HOME * \n"#;
    assert_eq!(install(&p, hello_bundle("literal", "1.0.0", "literal", args)).await.0, 201);
    wait_status(&p, "literal", "RUNNING").await;
    let (status, v) = call("GET", &format!("{}/literal/hello", h.local), None).await;
    assert_eq!((status, v["args"].as_str()), (200, Some(args)), "{v}");
    let ws = workspace(&h, "literal");
    for name in ["pwned", "pwned2"] {
        assert!(!ws.join(name).exists(), "something ran the args through a shell ({name} exists)");
    }
}

#[actix_rt::test]
async fn a_service_that_ignores_sigterm_with_a_stop_that_does_nothing_is_killed() {
    let mut p = Platform::new();
    let h = start(&mut p, &[("KEEL_HOSTING__STOP_GRACE_MS", "1000")]).await;
    // pid.txt names a shell that ignores SIGTERM (and so does its `sleep`, a worker in the
    // group); the example runs in inner/ (its own pid.txt there); `stop` does nothing.
    let script = br#"#!/bin/sh
case "$1" in
  start)
    mkdir -p inner
    nohup sh -c 'trap "" TERM
      (cd inner && exec ../hello_service "$1" "$2") &
      while [ ! -s inner/pid.txt ]; do sleep 0.05; done
      echo $$ > pid.txt
      while :; do sleep 1; done' stubborn "$2" "$3" </dev/null >/dev/null 2>&1 &
    ;;
  stop) ;;
esac
"#;
    assert_eq!(install(&p, bundle_with_script("stubborn", "1.0.0", "stubborn", "", script)).await.0, 201);
    let view = wait_status(&p, "stubborn", "RUNNING").await;
    let (pid, port) = (view["pid"].as_i64().unwrap(), view["port"].as_u64().unwrap() as u16);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let ignored = status.lines().find_map(|l| l.strip_prefix("SigIgn:")).unwrap().trim();
    let term = 1u64 << (Signal::SIGTERM as u64 - 1);
    assert_ne!(u64::from_str_radix(ignored, 16).unwrap() & term, 0, "the shell does not ignore SIGTERM");

    let began = Instant::now();
    let (status, v) = uninstall(&p, "stubborn").await;
    let took = began.elapsed();
    assert_eq!(status, 200, "{v}");
    assert!(!alive(pid), "a SIGTERM-proof service survived the stop");
    assert!(port_free(port));
    assert!(processes_in(&h.data_dir).is_empty(), "left {:?}", processes_in(&h.data_dir));
    // `stop`, a grace for the PID to go, SIGTERM, a grace, SIGKILL: about two graces.
    assert!(took >= Duration::from_millis(2000), "the stop escalated too early: {took:?}");
    assert!(took < Duration::from_secs(15), "the stop took {took:?}");
}
