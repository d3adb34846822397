//! The safe default of `sidecar run -f` (issue 13 §6): with no tokens configured every app with
//! a command gets its own random `DAPR_API_TOKEN` and `APP_API_TOKEN` (in its environment, and
//! enforced or sent by its sidecar), and the sidecars' APIs listen on loopback only.

mod common;

use common::http::{get, req};
use common::run::{run_file, Workspace};

/// Whether a socket listens on `port` at the IPv4 address given as /proc/net/tcp writes it.
fn listens_at(port: u16, addr_hex: &str) -> bool {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    table.lines().skip(1).any(|l| {
        let cols: Vec<&str> = l.split_whitespace().collect();
        cols.get(3) == Some(&"0A") && cols[1] == format!("{addr_hex}:{port:04X}")
    })
}

/// An app that writes the tokens it was given to `seen` and then waits.
fn app(id: &str, extra: &str) -> String {
    format!(
        "appID: {id}\nappDirPath: ./{id}\ncommand: [\"sh\", \"-c\", \"echo $DAPR_API_TOKEN $APP_API_TOKEN > seen; exec sleep 300\"]\n{extra}"
    )
}

fn seen(ws: &Workspace, id: &str) -> (String, String) {
    let text = common::eventually("the app to write its tokens", || {
        std::fs::read_to_string(ws.path(&format!("{id}/seen"))).ok().filter(|t| t.ends_with('\n'))
    });
    let mut parts = text.split_whitespace().map(str::to_owned);
    (parts.next().unwrap_or_default(), parts.next().unwrap_or_default())
}

#[test]
fn every_app_gets_its_own_tokens_and_its_sidecar_enforces_them() {
    let ws = Workspace::new();
    for id in ["a", "b"] {
        std::fs::create_dir_all(ws.path(id)).unwrap();
    }
    let file = ws.write("dapr.yaml", &run_file("", &[app("a", ""), app("b", "")]));
    let mut run = ws.run_file(&file).start();
    let port = run.ready("a").http_port;
    run.ready("b");

    let (dapr_a, app_a) = seen(&ws, "a");
    let (dapr_b, _) = seen(&ws, "b");
    assert_eq!(dapr_a.len(), 64, "a random token: {dapr_a:?}");
    assert_ne!(dapr_a, dapr_b, "per app");
    assert_ne!(dapr_a, app_a);
    // What the tools find in --tokens-dir is what the app was given.
    assert_eq!(run.tokens("a"), (Some(dapr_a.clone()), Some(app_a)));

    // The sidecar enforces it: healthz stays open, everything else wants the token.
    assert_eq!(get(port, "/v1.0/healthz").status, 204);
    let r = get(port, "/v1.0/metadata");
    assert_eq!((r.status, r.text()), (401, "invalid api token\n".to_owned()));
    assert_eq!(req("GET", "/v1.0/metadata").header("dapr-api-token", &dapr_b).send(port).status, 401);
    assert_eq!(req("GET", "/v1.0/metadata").header("dapr-api-token", &dapr_a).send(port).status, 200);

    // The API listens on 127.0.0.1 only.
    assert!(listens_at(port, "0100007F"), "not on 127.0.0.1");
    assert!(!listens_at(port, "00000000"), "must not listen on every interface");

    // The token files go with the run.
    assert_eq!(run.terminate().code(), Some(0));
    assert!(!ws.path("tokens/a.env").exists());
}

#[test]
fn exported_tokens_and_listen_addresses_are_kept() {
    let ws = Workspace::new();
    std::fs::create_dir_all(ws.path("a")).unwrap();
    let file = ws.write("dapr.yaml", &run_file("apiListenAddresses: 0.0.0.0\n", &[app("a", "")]));
    let mut run = ws.run_file(&file).env("DAPR_API_TOKEN", "exported").start();
    let port = run.ready("a").http_port;
    let (dapr, app_token) = seen(&ws, "a");
    assert_eq!(dapr, "exported");
    assert_eq!(app_token.len(), 64, "the missing app token is still made");
    assert_eq!(req("GET", "/v1.0/metadata").header("dapr-api-token", "exported").send(port).status, 200);
    assert!(listens_at(port, "00000000"));
}
