//! The run's lifecycle: readiness lines, Ctrl-C / SIGTERM stopping every app (and its children)
//! and sidecar, apps that exit on their own, and separate runs finding each other through the
//! shared registry.

mod common;

use common::app::Echo;
use common::http::{get, req};
use common::run::{alive, run_file, Workspace};
use nix::sys::signal::Signal;

fn read_pid(ws: &Workspace, file: &str) -> i32 {
    common::eventually(&format!("{file} to be written"), || {
        std::fs::read_to_string(ws.path(file)).ok().and_then(|s| s.trim().parse().ok())
    })
}

/// An app that records its own pid and a child's, then waits.
fn app_with_child(id: &str, trap_term: bool) -> String {
    let trap = if trap_term { "trap '' TERM; " } else { "" };
    format!(
        "appID: {id}\nappDirPath: ./{id}\ncommand: [\"sh\", \"-c\", \"{trap}sleep 600 & echo $! > child.pid; echo $$ > app.pid; wait\"]"
    )
}

#[test]
fn sigterm_and_ctrl_c_stop_every_app_with_its_children() {
    for signal in [Signal::SIGTERM, Signal::SIGINT] {
        let ws = Workspace::new();
        for id in ["a", "b"] {
            std::fs::create_dir_all(ws.path(id)).unwrap();
        }
        let file =
            ws.write("dapr.yaml", &run_file("", &[app_with_child("a", false), app_with_child("b", false)]));
        let mut run = ws.run_file(&file).start();
        let (ra, rb) = (run.ready("a"), run.ready("b"));
        let pids: Vec<i32> = ["a/app.pid", "a/child.pid", "b/app.pid", "b/child.pid"]
            .iter()
            .map(|f| read_pid(&ws, f))
            .collect();
        assert!(pids.iter().all(|p| alive(*p)));
        run.signal(signal);
        let status = run.wait_exit();
        assert_eq!(status.code(), Some(0), "{signal}: {}", run.stderr());
        for p in &pids {
            common::eventually(&format!("pid {p} to be gone after {signal}"), || (!alive(*p)).then_some(()));
        }
        for port in [ra.http_port, rb.http_port] {
            assert!(
                std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
                "sidecar port {port} still open"
            );
        }
    }
}

#[test]
fn an_app_ignoring_sigterm_is_killed_after_the_grace_period() {
    let ws = Workspace::new();
    std::fs::create_dir_all(ws.path("stubborn")).unwrap();
    let file = ws.write("dapr.yaml", &run_file("", &[app_with_child("stubborn", true)]));
    let mut run = ws.run_file(&file).start();
    run.ready("stubborn");
    let (app, child) = (read_pid(&ws, "stubborn/app.pid"), read_pid(&ws, "stubborn/child.pid"));
    let status = run.terminate();
    assert_eq!(status.code(), Some(0));
    for p in [app, child] {
        common::eventually(&format!("pid {p} to be gone"), || (!alive(p)).then_some(()));
    }
}

#[test]
fn an_app_that_exits_is_logged_and_its_sidecar_keeps_serving() {
    let ws = Workspace::new();
    std::fs::create_dir_all(ws.path("brief")).unwrap();
    let file = ws.write(
        "dapr.yaml",
        &run_file(
            "",
            &["appID: brief\nappDirPath: ./brief\ncommand: [\"sh\", \"-c\", \"echo bye; exit 3\"]".into()],
        ),
    );
    let mut run = ws.run_file(&file).start();
    let port = run.ready("brief").http_port;
    run.wait_stdout("== APP - brief == bye");
    run.wait_stderr("The App process exited with error code: 3");
    assert_eq!(get(port, "/v1.0/healthz").status, 204);
    let metadata = req("GET", "/v1.0/metadata").header("dapr-api-token", &run.dapr_token("brief")).send(port);
    assert_eq!(metadata.json()["id"], "brief");
    assert_eq!(run.terminate().code(), Some(0));
}

#[test]
fn separate_runs_find_each_other_through_the_shared_registry() {
    let ws = Workspace::new();
    for id in ["x", "y"] {
        std::fs::create_dir_all(ws.path(id)).unwrap();
    }
    let app_x = common::app::start();
    let fx =
        ws.write("x.yaml", &run_file("", &[format!("appID: x\nappDirPath: ./x\nappPort: {}", app_x.port)]));
    let mut run_x = ws.run_file(&fx).start();
    run_x.ready("x");
    // The second run is single-app mode with a command, like `dapr run -a y -- <cmd>`.
    let mut run_y = ws.single(&["--app-id", "y", "--", "sleep", "600"]).start();
    let py = run_y.ready("y").http_port;
    let e = Echo::of(&get(py, "/v1.0/invoke/x/method/hello"));
    assert_eq!(e.header("dapr-caller-app-id").as_deref(), Some("y"));
    assert_eq!(e.field("path"), "/hello");
    // A run that stops cleanly leaves the registry.
    assert_eq!(run_x.terminate().code(), Some(0));
    let r = common::eventually("x to be forgotten", || {
        let r = get(py, "/v1.0/invoke/x/method/hello");
        (r.status == 500).then_some(r)
    });
    assert_eq!(r.json()["message"], "failed to invoke, id: x, err: no host found with the given ID");
}

#[test]
fn a_crashed_run_is_forgotten_because_its_pid_is_gone() {
    let ws = Workspace::new();
    for id in ["x", "y"] {
        std::fs::create_dir_all(ws.path(id)).unwrap();
    }
    let fx = ws.write("x.yaml", &run_file("", &["appID: x\nappDirPath: ./x".into()]));
    let mut run_x = ws.run_file(&fx).start();
    run_x.ready("x");
    let fy = ws.write("y.yaml", &run_file("", &["appID: y\nappDirPath: ./y".into()]));
    let mut run_y = ws.run_file(&fy).start();
    let py = run_y.ready("y").http_port;
    // x has no app: the remote error proves y reached x's sidecar.
    assert!(get(py, "/v1.0/invoke/x/method/a").text().contains("app channel is not initialized"));
    run_x.signal(Signal::SIGKILL);
    run_x.wait_exit();
    let r = common::eventually("x to be forgotten", || {
        let r = get(py, "/v1.0/invoke/x/method/a");
        r.text().contains("no host found").then_some(r)
    });
    assert_eq!(r.status, 500);
}
