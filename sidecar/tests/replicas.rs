//! Replicas: several `sidecar run` processes serving one app-id (two instances of `plugins`)
//! share the machine's name registry; invocations spread over them as daprd's resolvers spread
//! them, and an instance that stops is no longer picked.

mod common;

use common::app::{self, Echo};
use common::http::get;
use common::run::{run_file, Workspace};
use std::collections::HashMap;

/// The app port that answered an invocation (each replica's echo app has its own).
fn answered_by(port: u16) -> String {
    let r = get(port, "/v1.0/invoke/plugins/method/whoami");
    assert_eq!(r.status, 200, "{}", r.text());
    Echo::of(&r).header("host").expect("the echo app reports its host")
}

#[test]
fn calls_spread_over_every_replica_and_a_stopped_one_is_no_longer_picked() {
    let ws = Workspace::new();
    for dir in ["p1", "p2", "caller"] {
        std::fs::create_dir_all(ws.path(dir)).unwrap();
    }
    let (a1, a2) = (app::start(), app::start());
    let replica = |name: &str, dir: &str, port: u16| {
        let file =
            ws.write(name, &run_file("", &[format!("appID: plugins\nappDirPath: ./{dir}\nappPort: {port}")]));
        ws.run_file(&file).start()
    };
    let mut r1 = replica("p1.yaml", "p1", a1.port);
    let mut r2 = replica("p2.yaml", "p2", a2.port);
    r1.ready("plugins");
    r2.ready("plugins");
    let caller_file = ws.write("caller.yaml", &run_file("", &["appID: caller\nappDirPath: ./caller".into()]));
    let mut caller = ws.run_file(&caller_file).start();
    let port = caller.ready("caller").http_port;

    let mut counts: HashMap<String, usize> = HashMap::new();
    for _ in 0..40 {
        *counts.entry(answered_by(port)).or_default() += 1;
    }
    let (h1, h2) = (format!("127.0.0.1:{}", a1.port), format!("127.0.0.1:{}", a2.port));
    assert!(
        counts.get(&h1).copied().unwrap_or(0) >= 5 && counts.get(&h2).copied().unwrap_or(0) >= 5,
        "{counts:?}"
    );

    // Stop one replica: every later call reaches the other, none fails.
    assert!(r1.terminate().success());
    for _ in 0..20 {
        assert_eq!(answered_by(port), h2);
    }
}
