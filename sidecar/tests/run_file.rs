//! `sidecar run -f`: the run file's rules as the app and sidecar see them (environment, working
//! folder, resources precedence, output prefixes), and malformed files or components refused
//! before anything starts.

mod common;

use common::http::get;
use common::run::{run_file, Workspace};

fn components_of(port: u16) -> Vec<String> {
    let meta = get(port, "/v1.0/metadata").json();
    meta["components"]
        .as_array()
        .map(|c| c.iter().map(|c| c["name"].as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

#[test]
fn apps_get_the_dapr_run_environment_with_app_over_common_over_inherited() {
    let ws = Workspace::new();
    std::fs::create_dir_all(ws.path("svc/a")).unwrap();
    let file = ws.write(
        "dapr.yaml",
        &run_file(
            "env:\n  X: common\n  Y: common",
            &["appID: a\nappDirPath: ./svc/a\ndaprGRPCPort: 50123\nenv:\n  X: app\ncommand: [\"sh\", \"-c\", \"env | sort; pwd; echo oops >&2; exec sleep 600\"]".into()],
        ),
    );
    let mut run = ws.run_file(&file).env("Y", "inherited").env("Z", "inherited").start();
    let ready = run.ready("a");
    run.wait_stdout("== APP - a == /");
    let lines = run.stdout();
    let has = |l: &str| lines.iter().any(|x| x == &format!("== APP - a == {l}"));
    for want in [
        "APP_ID=a".to_owned(),
        "APP_CHANNEL_ADDRESS=127.0.0.1".to_owned(),
        "APP_PROTOCOL=http".to_owned(),
        format!("DAPR_HTTP_PORT={}", ready.http_port),
        "DAPR_GRPC_PORT=50123".to_owned(),
        "X=app".to_owned(),
        "Y=common".to_owned(),
        "Z=inherited".to_owned(),
        ws.path("svc/a").canonicalize().unwrap().display().to_string(),
    ] {
        assert!(has(&want), "missing {want:?} in {lines:#?}");
    }
    assert!(lines.iter().any(|l| l.starts_with("== APP - a == DAPR_METRICS_PORT=")));
    assert!(!lines.iter().any(|l| l.starts_with("== APP - a == APP_PORT=")), "no APP_PORT without appPort");
    run.wait_stderr("== APP - a == oops");
    assert_eq!(ready.app_port, 0);
}

#[test]
fn resources_come_from_the_app_then_dot_dapr_then_common() {
    let ws = Workspace::new();
    let store = |name: &str| common::state_component(name, "state.in-memory", &[]);
    ws.write("common/s.yaml", &store("commonstore"));
    ws.write("a/.dapr/resources/s.yaml", &store("dotstore"));
    ws.write("b/own/s.yaml", &store("ownstore"));
    ws.write("b/.dapr/resources/s.yaml", &store("ignored"));
    std::fs::create_dir_all(ws.path("c")).unwrap();
    // Other kinds are skipped; a component the sidecar cannot run only with ignoreErrors.
    ws.write(
        "common/config.yaml",
        "apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: cfg\nspec: {}\n",
    );
    ws.write(
        "common/pubsub.yaml",
        "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: pubsub\nspec:\n  type: pubsub.redis\n  version: v1\n  ignoreErrors: true\n",
    );
    let file = ws.write(
        "dapr.yaml",
        &run_file(
            "resourcesPaths: [./common]",
            &[
                "appID: a\nappDirPath: ./a".into(),
                "appID: b\nappDirPath: ./b\nresourcesPaths: [./own]".into(),
                "appID: c\nappDirPath: ./c".into(),
            ],
        ),
    );
    let mut run = ws.run_file(&file).start();
    assert_eq!(components_of(run.ready("a").http_port), vec!["dotstore"]);
    assert_eq!(components_of(run.ready("b").http_port), vec!["ownstore"]);
    assert_eq!(components_of(run.ready("c").http_port), vec!["commonstore"]);
    run.wait_stderr("Skipping component (ignoreErrors): field spec.type: \"pubsub.redis\" is not supported");
}

#[test]
fn a_folder_argument_finds_dapr_yaml() {
    let ws = Workspace::new();
    std::fs::create_dir_all(ws.path("a")).unwrap();
    ws.write("dapr.yaml", &run_file("", &["appDirPath: ./a".into()]));
    let mut run = ws.run_file(ws.dir.path()).start();
    assert_eq!(run.ready("a").app_port, 0, "appID defaults to the folder name");
}

/// Starts a run that must fail; returns its stderr after checking nothing was left behind.
fn refused(ws: &Workspace, yaml: &str) -> String {
    let file = ws.write("dapr.yaml", yaml);
    let mut run = ws.run_file(&file).start();
    let status = run.wait_exit();
    assert!(!status.success(), "{status}");
    assert_eq!(status.code(), Some(64), "EX_USAGE for a bad configuration");
    assert!(!ws.path("a/started").exists(), "an app was started");
    assert!(run.stdout().iter().all(|l| !l.starts_with("sidecar ready")));
    run.stderr()
}

#[test]
fn malformed_run_files_are_refused_naming_file_field_and_value() {
    let ws = Workspace::new();
    std::fs::create_dir_all(ws.path("a")).unwrap();
    let file = ws.path("dapr.yaml").display().to_string();
    let app = "appID: a\nappDirPath: ./a\ncommand: [\"touch\", \"started\"]";
    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            format!("apps:\n  - {}\n", app.replace('\n', "\n    ")),
            vec!["version", "required field 'version' not found in the provided app config file"],
        ),
        (run_file("", &[format!("{app}\nappPort: 99999")]), vec!["apps[0].appPort", "99999"]),
        (run_file("", &[format!("{app}\nappPort: abc")]), vec!["appPort", "abc"]),
        (run_file("", &[format!("{app}\nappProtocol: grpc")]), vec!["apps[0].appProtocol", "grpc"]),
        (run_file("", &[format!("{app}\nmaxBodySize: huge")]), vec!["apps[0].maxBodySize", "huge"]),
        (run_file("", &["appID: b\ncommand: [\"true\"]".into()]), vec!["apps[0].appDirPath"]),
        (
            run_file("", &[app.to_owned(), "appID: a\nappDirPath: ./a".into()]),
            vec!["apps[1].appID", "duplicate"],
        ),
        ("version: 1\napps: [\n".to_owned(), vec!["run file"]),
    ];
    for (yaml, needles) in cases {
        let stderr = refused(&ws, &yaml);
        assert!(stderr.contains(&file), "file not named for {yaml:?}: {stderr}");
        for n in needles {
            assert!(stderr.contains(n), "{n:?} not in error for {yaml:?}: {stderr}");
        }
    }
}

#[test]
fn a_malformed_component_stops_the_whole_run_before_it_starts() {
    let ws = Workspace::new();
    std::fs::create_dir_all(ws.path("a")).unwrap();
    std::fs::create_dir_all(ws.path("b")).unwrap();
    let bad = ws.write(
        "b-res/bad.yaml",
        "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: broken\nspec:\n  version: v1\n",
    );
    let yaml = run_file(
        "",
        &[
            "appID: a\nappDirPath: ./a\ncommand: [\"touch\", \"started\"]".into(),
            "appID: b\nappDirPath: ./b\nresourcesPaths: [../b-res]".into(),
        ],
    );
    let stderr = refused(&ws, &yaml);
    assert!(stderr.contains(&bad.display().to_string()), "{stderr}");
    assert!(stderr.contains("spec.type"), "{stderr}");
    // A resources folder that does not exist is an error too.
    let yaml = run_file(
        "",
        &["appID: a\nappDirPath: ./a\ncommand: [\"touch\", \"started\"]\nresourcesPaths: [./nowhere]".into()],
    );
    let stderr = refused(&ws, &yaml);
    assert!(stderr.contains("nowhere"), "{stderr}");
}

#[test]
fn bad_flags_are_refused_like_bad_files() {
    let ws = Workspace::new();
    let mut run = ws.single(&["--app-id", "x", "--max-body-size", "lots"]).start();
    assert_eq!(run.wait_exit().code(), Some(64));
    assert!(run.stderr().contains("--max-body-size"), "{}", run.stderr());
}
