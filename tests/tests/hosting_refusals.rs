//! Every malformed bundle is refused with a 4xx naming the entry or field, and leaves nothing
//! behind: no files, no record in the store, no process. Only platform scope may install.

mod hosting_support;

use hosting_support::*;
use keel_e2e::{AppSpec, Platform};

fn with_start(yaml: &str, extra: Vec<Item>) -> Vec<u8> {
    let mut items = vec![
        Item::file("plugin.yaml", yaml.as_bytes(), 0o644),
        Item::file("workspace/start.sh", b"#!/bin/sh\n", 0o755),
    ];
    items.extend(extra);
    archive(&items)
}

#[actix_rt::test]
async fn every_malformed_bundle_is_refused_with_nothing_left() {
    let mut p = Platform::new();
    let h = start(&mut p, &[("KEEL_HOSTING__MAX_ARCHIVE_BYTES", "300000")]).await;
    let yaml = manifest("bad", "1.0.0", "bad", "", false);
    let noise: Vec<u8> = (0..400_000).map(|_| rand::random::<u8>()).collect();
    let cases: Vec<(&str, Vec<u8>, u16, &str, &str)> = vec![
        (
            "..",
            with_start(&yaml, vec![Item::file("../escape", b"x", 0o644)]),
            400,
            "ERR_UNSAFE_BUNDLE",
            "\"../escape\"",
        ),
        (
            "absolute",
            with_start(&yaml, vec![Item::file("/tmp/escape", b"x", 0o644)]),
            400,
            "ERR_UNSAFE_BUNDLE",
            "\"/tmp/escape\"",
        ),
        (
            "link out",
            with_start(&yaml, vec![Item::link("workspace/etc", "../../../../etc")]),
            400,
            "ERR_UNSAFE_BUNDLE",
            "workspace/etc",
        ),
        (
            "absolute link",
            with_start(&yaml, vec![Item::link("workspace/pw", "/etc/passwd")]),
            400,
            "ERR_UNSAFE_BUNDLE",
            "workspace/pw",
        ),
        (
            "no start file",
            archive(&[
                Item::file("plugin.yaml", yaml.as_bytes(), 0o644),
                Item::file("workspace/x", b"", 0o644),
            ]),
            400,
            "ERR_BAD_BUNDLE",
            "workspace/start.sh",
        ),
        (
            "not executable",
            archive(&[
                Item::file("plugin.yaml", yaml.as_bytes(), 0o644),
                Item::file("workspace/start.sh", b"", 0o644),
            ]),
            400,
            "ERR_BAD_BUNDLE",
            "not executable",
        ),
        (
            "bad root",
            with_start(&manifest("bad", "1.0.0", "Bad/Root", "", false), vec![]),
            400,
            "ERR_BAD_BUNDLE",
            "root_route",
        ),
        (
            "yaml error",
            with_start("service:\n  app_id: [bad\n", vec![]),
            400,
            "ERR_BAD_BUNDLE",
            "plugin.yaml",
        ),
        (
            "missing version",
            with_start(&yaml.replace("  version: 1.0.0\n  name", "  name"), vec![]),
            400,
            "ERR_BAD_BUNDLE",
            "service.version",
        ),
        (
            "no web_service",
            with_start(&yaml.replace("web_service", "page"), vec![]),
            400,
            "ERR_BAD_BUNDLE",
            "web_service",
        ),
        ("not an archive", b"plain text".to_vec(), 400, "ERR_BAD_BUNDLE", ".tar.gz"),
        (
            "too large",
            with_start(&yaml, vec![Item::file("workspace/noise", &noise, 0o644)]),
            413,
            "ERR_BUNDLE_TOO_LARGE",
            "max_archive_bytes",
        ),
    ];
    for (what, bundle, status, code, words) in cases {
        let (got, v) = install(&p, bundle).await;
        assert_eq!((got, v["code"].as_str()), (status, Some(code)), "{what}: {v}");
        assert!(v["msg"].as_str().unwrap_or_default().contains(words), "{what}: {words:?} not in {v}");
        assert_nothing_left(&p, &h).await;
    }

    // A root another service serves is refused too, and the first service is untouched.
    let small = |id: &str| with_start(&manifest(id, "1.0.0", "shared", "", false), vec![]);
    assert_eq!(install(&p, small("first")).await.0, 201);
    let (status, v) = install(&p, small("second")).await;
    assert_eq!((status, v["code"].as_str()), (409, Some("ERR_ROOT_ROUTE_TAKEN")), "{v}");
    assert!(v["msg"].as_str().unwrap().contains("\"first\""), "{v}");
    let ids: Vec<String> = list(&p).await.iter().map(|s| s["app_id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids, vec!["first"]);
    assert!(!h.data_dir.join("services/second").exists());
}

#[actix_rt::test]
async fn only_platform_scope_installs_and_uninstalls() {
    let mut p = Platform::new();
    let h = start(&mut p, &[]).await;
    p.start(AppSpec::sidecar_only("intruder")).await;
    let url = format!("{}/v1.0/invoke/{HOSTING}/method/v1/services", p.dapr_url("intruder"));
    let small = with_start(&manifest("sneaky", "1.0.0", "sneaky", "", false), vec![]);
    let (status, v) = call("POST", &url, Some(small)).await;
    assert_eq!((status, v["code"].as_str()), (403, Some("ERR_CALLER_NOT_ALLOWED")), "{v}");
    assert!(v["msg"].as_str().unwrap().contains("grant"), "{v}");
    assert!(v["msg"].as_str().unwrap().contains("\"intruder\""), "{v}");
    assert_nothing_left(&p, &h).await;
    // Listings are open to any caller.
    let (status, v) = call("GET", &url, None).await;
    assert_eq!(status, 200, "{v}");
}

async fn assert_nothing_left(p: &Platform, h: &Hosting) {
    assert!(list(p).await.is_empty(), "a refused bundle is listed");
    for dir in ["services", "staging"] {
        let left: Vec<_> = std::fs::read_dir(h.data_dir.join(dir)).into_iter().flatten().flatten().collect();
        assert!(left.is_empty(), "{dir}/ holds {left:?}");
    }
    assert!(processes_in(&h.data_dir).is_empty());
    // Nothing in the store either.
    let (status, v) =
        call("GET", &format!("{}/v1.0/state/statestore/hosting%2Fservices", p.dapr_url(HOSTING)), None).await;
    assert!(status == 204 || v.as_object().is_some_and(|m| m.is_empty()), "store holds {v}");
}
