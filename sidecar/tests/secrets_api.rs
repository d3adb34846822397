//! The secrets API (`GET /v1.0/secrets/{store}/{key}` and `/bulk`) over `secretstores.local.env`
//! and `secretstores.local.file`, with daprd's answers and errors, component scopes and the
//! Configuration's secret scopes. (The Python SDK's `get_secret` is gRPC only, so raw HTTP here.)

mod common;

use common::http::{get, req};

fn file_store(name: &str, path: &str, extra: &str, scopes: &str) -> String {
    format!(
        "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\nspec:\n  type: secretstores.local.file\n  version: v1\n  metadata:\n  - name: secretsFile\n    value: \"{path}\"\n{extra}{scopes}"
    )
}

const ENV_STORE: &str = "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: envstore\nspec:\n  type: secretstores.local.env\n  version: v1\n  metadata:\n  - name: prefix\n    value: KEEL_SECRET_\n";

#[test]
fn secrets_read_back_as_daprd_encodes_them() {
    let ws = common::run::Workspace::new();
    let secrets = ws.write("secrets.json", r#"{"sealing-key":"k<1>&","db":{"user":"keel","port":5432}}"#);
    let store = file_store("files", secrets.to_str().unwrap(), "", "");
    let f = common::fleet(
        "env:\n  KEEL_SECRET_TOKEN: from-env\n",
        &[("auth", "")],
        &[("files.yaml", &store), ("env.yaml", ENV_STORE)],
    );
    let port = f.port(0);

    let r = get(port, "/v1.0/secrets/files/sealing-key");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    // Go's json.Encoder: HTML characters escaped, a trailing newline.
    assert_eq!(r.text(), "{\"sealing-key\":\"k\\u003c1\\u003e\\u0026\"}\n");
    assert_eq!(
        get(port, "/v1.0/secrets/files/db:port?metadata.version=2").json()["db:port"],
        "%!s(float64=5432)"
    );
    let all = get(port, "/v1.0/secrets/files/bulk").json();
    assert_eq!(all["db:user"]["db:user"], "keel");
    assert_eq!(all.as_object().unwrap().len(), 3);

    // The env store: a variable of the sidecar's environment, an unset one is empty.
    assert_eq!(get(port, "/v1.0/secrets/envstore/TOKEN").text(), "{\"TOKEN\":\"from-env\"}\n");
    assert_eq!(get(port, "/v1.0/secrets/envstore/NOPE").text(), "{\"NOPE\":\"\"}\n");
    assert_eq!(get(port, "/v1.0/secrets/envstore/bulk").json()["TOKEN"]["TOKEN"], "from-env");

    // daprd's errors.
    let r = get(port, "/v1.0/secrets/files/missing");
    assert_eq!(r.status, 500);
    assert_eq!(
        r.text(),
        r#"{"errorCode":"ERR_SECRET_GET","message":"failed getting secret with key missing from secret store files: secret missing not found"}"#
    );
    let r = get(port, "/v1.0/secrets/nostore/x");
    assert_eq!(r.status, 401);
    assert_eq!(
        r.text(),
        r#"{"errorCode":"ERR_SECRET_STORE_NOT_FOUND","message":"failed finding secret store with key nostore"}"#
    );
    let r = req("GET", "/v1.0/secrets/files/sealing-key").body("not json").send(port);
    assert_eq!((r.status, r.json()["errorCode"].as_str()), (400, Some("ERR_MALFORMED_REQUEST")));
    // Only GET is a secrets route; anything else falls to invocation.
    assert_eq!(req("POST", "/v1.0/secrets/files/sealing-key").body("x").send(port).status, 404);

    // /v1.0/metadata lists the secret stores.
    let meta = get(port, "/v1.0/metadata").json();
    let names: Vec<&str> =
        meta["components"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"files") && names.contains(&"envstore"), "{meta}");
}

#[test]
fn scoped_stores_and_secret_scopes_keep_secrets_to_their_app() {
    let ws_secrets = tempfile::tempdir().unwrap();
    let path = ws_secrets.path().join("auth.json");
    std::fs::write(&path, r#"{"sealing-key":"s","other":"o"}"#).unwrap();
    let store = file_store("auth-secrets", path.to_str().unwrap(), "", "scopes:\n- auth\n");
    let config = "apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: c\nspec:\n  secrets:\n    scopes:\n    - storeName: auth-secrets\n      defaultAccess: deny\n      allowedSecrets: [\"sealing-key\"]\n";
    let f = common::fleet(
        "configFilePath: ./resources/config.yaml\n",
        &[("auth", ""), ("echo", "")],
        &[("auth-secrets.yaml", &store), ("config.yaml", config)],
    );
    let (auth, echo) = (f.port(0), f.port(1));
    assert_eq!(get(auth, "/v1.0/secrets/auth-secrets/sealing-key").json()["sealing-key"], "s");
    let r = get(auth, "/v1.0/secrets/auth-secrets/other");
    assert_eq!(r.status, 403);
    assert_eq!(
        r.text(),
        r#"{"errorCode":"ERR_PERMISSION_DENIED","message":"access denied by policy to get \"other\" from \"auth-secrets\""}"#
    );
    // Bulk leaves the refused secret out.
    let all = get(auth, "/v1.0/secrets/auth-secrets/bulk").json();
    assert_eq!(all.as_object().unwrap().keys().collect::<Vec<_>>(), vec!["sealing-key"]);
    // Not scoped to echo: for its sidecar there is no secret store at all.
    let r = get(echo, "/v1.0/secrets/auth-secrets/sealing-key");
    assert_eq!(r.status, 500);
    assert_eq!(
        r.text(),
        r#"{"errorCode":"ERR_SECRET_STORES_NOT_CONFIGURED","message":"secret store is not configured"}"#
    );
}

#[test]
fn a_secret_store_that_cannot_start_stops_the_run() {
    let ws = common::run::Workspace::new();
    std::fs::create_dir_all(ws.path("a")).unwrap();
    ws.write("resources/s.yaml", &file_store("files", "./does-not-exist.json", "", ""));
    let file = ws.write(
        "dapr.yaml",
        &common::run::run_file("resourcesPath: ./resources\n", &["appID: a\nappDirPath: ./a".into()]),
    );
    let mut run = ws.run_file(&file).start();
    assert_eq!(run.wait_exit().code(), Some(64));
    let err = run.stderr();
    assert!(err.contains("error initializing component files (secretstores.local.file/v1)"), "{err}");
    assert!(err.contains("open ./does-not-exist.json: no such file or directory"), "{err}");
}
