use super::*;

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new(app_dirs: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        for d in app_dirs {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        Fixture { dir }
    }

    fn parse(&self, text: &str) -> Result<Vec<AppPlan>, RunFileError> {
        self.parse_env(text, &[])
    }

    fn parse_env(&self, text: &str, env: &[(&str, &str)]) -> Result<Vec<AppPlan>, RunFileError> {
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let home = self.dir.path().join("home");
        let reg = self.dir.path().join("reg.db");
        let inputs = Inputs { inherited_env: &env, home: Some(&home), registry_path: &reg };
        parse(&self.dir.path().join("dapr.yaml"), text, &inputs)
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }
}

fn err(r: Result<Vec<AppPlan>, RunFileError>) -> String {
    r.unwrap_err().to_string()
}

#[test]
fn version_is_required_with_the_cli_text() {
    let f = Fixture::new(&["a"]);
    let e = err(f.parse("apps:\n- appDirPath: ./a\n"));
    assert!(e.contains("required field 'version' not found in the provided app config file"), "{e}");
    assert!(e.contains("dapr.yaml"), "{e}");
    assert!(err(f.parse("version: 2\napps:\n- appDirPath: ./a\n")).contains("only version 1"));
}

#[test]
fn app_dir_path_is_required_and_must_exist() {
    let f = Fixture::new(&["a"]);
    let e = err(f.parse("version: 1\napps:\n- appID: x\n"));
    assert!(e.contains("apps[0].appDirPath"), "{e}");
    let e = err(f.parse("version: 1\napps:\n- appDirPath: ./missing\n"));
    assert!(e.contains("apps[0].appDirPath") && e.contains("missing"), "{e}");
}

#[test]
fn app_id_defaults_to_the_folder_name_and_paths_resolve() {
    let f = Fixture::new(&["svc/orders", "svc/orders/res", "common-res"]);
    let plans = f
        .parse(
            "version: 1\ncommon:\n  resourcesPath: ./common-res\napps:\n- appDirPath: ./svc/orders/\n  resourcesPaths: [./res]\n  command: [\"python3\", \"app.py\"]\n  appPort: 3000\n- appID: other\n  appDirPath: svc\n",
        )
        .unwrap();
    assert_eq!(plans[0].sidecar.app_id, "orders");
    assert_eq!(plans[0].sidecar.resources_paths[0].path, f.path("svc/orders/res"));
    assert_eq!(plans[0].sidecar.app_port, Some(3000));
    let cmd = plans[0].command.as_ref().unwrap();
    assert_eq!(cmd.dir, f.path("svc/orders"));
    assert_eq!(cmd.argv, vec!["python3", "app.py"]);
    // The second app has no resources of its own: common's, relative to the file.
    assert_eq!(plans[1].sidecar.resources_paths[0].path, f.path("common-res"));
    assert!(plans[1].command.is_none());
}

#[test]
fn dot_dapr_resources_beat_common_and_home_is_the_fallback() {
    let f = Fixture::new(&["a/.dapr/resources", "b", "common"]);
    let plans = f
        .parse("version: 1\ncommon:\n  resourcesPaths: [./common]\napps:\n- appDirPath: a\n- appDirPath: b\n")
        .unwrap();
    assert_eq!(plans[0].sidecar.resources_paths[0].path, f.path("a/.dapr/resources"));
    assert_eq!(plans[1].sidecar.resources_paths[0].path, f.path("common"));
    let plans = f.parse("version: 1\napps:\n- appDirPath: b\n").unwrap();
    assert_eq!(plans[0].sidecar.resources_paths[0].path, f.path("home/.dapr/components"));
    assert!(!plans[0].sidecar.resources_paths[0].required);
}

#[test]
fn env_precedence_is_app_then_common_then_inherited_and_reaches_the_sidecar() {
    let f = Fixture::new(&["a", "b"]);
    let plans = f
        .parse_env(
            "version: 1\ncommon:\n  env:\n    X: common\n    Y: common\n    APP_API_TOKEN: shared\napps:\n- appDirPath: a\n  command: [run]\n  env:\n    X: app\n    N: 3\n- appDirPath: b\n  env:\n    DAPR_API_TOKEN: secret\n",
            &[("Y", "inherited"), ("Z", "inherited"), ("NAMESPACE", "prod")],
        )
        .unwrap();
    let env = &plans[0].command.as_ref().unwrap().env;
    let get = |k: &str| env.iter().rev().find(|(ek, _)| ek == k).map(|(_, v)| v.as_str());
    assert_eq!(get("X"), Some("app"));
    assert_eq!(get("Y"), Some("common"));
    assert_eq!(get("N"), Some("3"));
    assert_eq!(get("Z"), None, "inherited env is added by the supervisor, not the plan");
    assert_eq!(plans[0].sidecar.app_api_token.as_deref(), Some("shared"));
    assert_eq!(plans[0].sidecar.dapr_api_token, None);
    assert_eq!(plans[0].sidecar.namespace, "prod");
    assert_eq!(plans[1].sidecar.dapr_api_token.as_deref(), Some("secret"));
}

#[test]
fn settings_merge_with_common_and_health_defaults() {
    let f = Fixture::new(&["a", "b"]);
    let plans = f
        .parse(
            "version: 1\ncommon:\n  maxBodySize: 16Mi\n  enableAppHealthCheck: true\n  appHealthProbeInterval: 1\n  appHealthProbeTimeout: 200\napps:\n- appDirPath: a\n  daprHTTPPort: 3511\n  daprGRPCPort: 50011\n  maxBodySize: 1Mi\n  readBufferSize: 8Ki\n  appHealthThreshold: 2\n  unknownKey: tolerated\n- appDirPath: b\n  appHealthCheckPath: /health\n",
        )
        .unwrap();
    let a = &plans[0].sidecar;
    assert_eq!(
        (a.dapr_http_port, a.dapr_grpc_port, a.max_body_size, a.read_buffer_size),
        (3511, 50011, 1 << 20, 8 << 10)
    );
    let h = a.app_health.as_ref().unwrap();
    assert_eq!(
        (h.path.as_str(), h.interval.as_secs(), h.timeout.as_millis(), h.threshold),
        ("/healthz", 1, 200, 2)
    );
    let b = &plans[1].sidecar;
    assert_eq!(b.max_body_size, 16 << 20);
    assert_eq!(b.app_health.as_ref().unwrap().path, "/health");
    assert_eq!(b.dapr_http_port, 0, "free port chosen at bind time");
    assert!(b.dapr_grpc_port > 0, "a free gRPC port number is reserved");
}

#[test]
fn bad_values_name_the_key_and_value() {
    let f = Fixture::new(&["a"]);
    let e = err(f.parse("version: 1\napps:\n- appDirPath: a\n  appPort: 70000\n"));
    assert!(e.contains("apps[0].appPort") && e.contains("70000"), "{e}");
    let e = err(f.parse("version: 1\napps:\n- appDirPath: a\n  appProtocol: grpc\n"));
    assert!(e.contains("apps[0].appProtocol") && e.contains("grpc"), "{e}");
    let e = err(f.parse("version: 1\napps:\n- appDirPath: a\n  maxBodySize: lots\n"));
    assert!(e.contains("apps[0].maxBodySize") && e.contains("lots"), "{e}");
    let e = err(f.parse("version: 1\napps:\n- appDirPath: a\n  appPort: abc\n"));
    assert!(e.contains("appPort") && e.contains("line"), "{e}");
    let e = err(f.parse("version: 1\napps:\n- appDirPath: a\n- appDirPath: a\n"));
    assert!(e.contains("duplicate app ID"), "{e}");
    let e = err(f.parse(
        "version: 1\napps:\n- appDirPath: a\n  enableAppHealthCheck: true\n  appHealthProbeTimeout: 9000\n",
    ));
    assert!(e.contains("appHealthProbeTimeout"), "{e}");
    let e = err(f.parse("version: 1\napps: [\n"));
    assert!(e.starts_with(&format!("run file {}", f.path("dapr.yaml").display())), "{e}");
}

#[test]
fn the_configuration_file_follows_the_clis_precedence() {
    let f = Fixture::new(&["a", "b", "b/.dapr", "c"]);
    std::fs::write(f.path("common.yaml"), "spec: {}\n").unwrap();
    std::fs::write(f.path("a/own.yaml"), "spec: {}\n").unwrap();
    std::fs::write(f.path("b/.dapr/config.yaml"), "spec: {}\n").unwrap();
    let plans = f
        .parse(
            "version: 1\ncommon:\n  configFilePath: ./common.yaml\napps:\n- appID: a\n  appDirPath: ./a\n  configFilePath: own.yaml\n- appID: b\n  appDirPath: ./b\n- appID: c\n  appDirPath: ./c\n",
        )
        .unwrap();
    let files: Vec<PathBuf> = plans.iter().map(|p| p.sidecar.config_files[0].path.clone()).collect();
    assert_eq!(files, vec![f.path("a/own.yaml"), f.path("b/.dapr/config.yaml"), f.path("common.yaml")]);
    assert!(plans.iter().all(|p| p.sidecar.config_files[0].required));
    // Nothing named: ~/.dapr/config.yaml, which may be missing.
    let plans = f.parse("version: 1\napps:\n- appDirPath: ./c\n").unwrap();
    let default = &plans[0].sidecar.config_files[0];
    assert_eq!((default.path.clone(), default.required), (f.path("home/.dapr/config.yaml"), false));
    let e = err(f.parse("version: 1\napps:\n- appDirPath: ./c\n  configFilePath: ./nope.yaml\n"));
    assert!(e.contains("apps[0].configFilePath") && e.contains("nope.yaml"), "{e}");
}

#[test]
fn listen_addresses_default_to_loopback_and_body_sizes_take_both_keys() {
    let f = Fixture::new(&["a"]);
    let plans = f.parse("version: 1\napps:\n- appDirPath: ./a\n").unwrap();
    assert_eq!(plans[0].sidecar.listen_addresses, vec![std::net::IpAddr::from([127, 0, 0, 1])]);
    let plans = f
        .parse("version: 1\ncommon:\n  apiListenAddresses: \"0.0.0.0, ::1\"\napps:\n- appDirPath: ./a\n")
        .unwrap();
    assert_eq!(plans[0].sidecar.listen_addresses.len(), 2);
    assert!(err(f.parse("version: 1\napps:\n- appDirPath: ./a\n  apiListenAddresses: nowhere\n"))
        .contains("apps[0].apiListenAddresses"));
    // The pre-1.15 key in MB; maxBodySize wins; ≤ 0 is no limit.
    let size = |extra: &str| {
        f.parse(&format!("version: 1\napps:\n- appDirPath: ./a\n{extra}")).unwrap()[0].sidecar.max_body_size
    };
    assert_eq!(size("  daprHTTPMaxRequestSize: 16\n"), 16 << 20);
    assert_eq!(size("  daprHTTPMaxRequestSize: 16\n  maxBodySize: 1Mi\n"), 1 << 20);
    assert_eq!(size("  daprHTTPMaxRequestSize: -1\n"), u64::MAX);
    assert_eq!(size("  maxBodySize: \"0\"\n"), u64::MAX);
}

#[test]
fn the_sidecar_environment_is_the_inherited_one_under_the_run_files() {
    let f = Fixture::new(&["a"]);
    let plans = f
        .parse_env(
            "version: 1\ncommon:\n  env:\n    X: common\napps:\n- appDirPath: ./a\n  env:\n    X: app\n",
            &[("X", "shell"), ("Y", "y")],
        )
        .unwrap();
    let env = &plans[0].sidecar.environment;
    let last = |k: &str| env.iter().rev().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!((last("X"), last("Y")), (Some("app"), Some("y")));
}
