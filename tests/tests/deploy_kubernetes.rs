//! `deploy/kubernetes/` checked offline: every Kubernetes object against the pinned Kubernetes
//! version's schemas with `kubernetes-validate` (pip-installed into `target/`), and the Dapr
//! objects, which it has no schema for, against what the rest of the repository says: the
//! Configurations mirror `config/`, every app-id, port and Configuration name is the one
//! `dapr.yaml` and the sdk give, every state store has the names, scopes, key prefixes and
//! metadata names of `components/` and `components/production/`, and no secret is written in a
//! file (only Secret names, each one documented in `deploy/kubernetes/README.md`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use keel_sdk::protocol::{AUTH_APP_ID, HOSTING_APP_ID, KEEL_APP_ID, REGISTRY_APP_ID};
use serde::Deserialize;
use serde_json::Value;

/// The kubernetes-validate release pinned.
const KUBERNETES_VALIDATE_VERSION: &str = "1.37.0";
/// The Kubernetes version the manifests are validated against.
const KUBERNETES_VERSION: &str = "1.34.0";
/// The platform's namespace in the manifests (and in the Configurations' policies).
const NAMESPACE: &str = "keel";
/// The secret every sealing secret store is asked for (docs/security.md).
const SEALING_SECRET: &str = "sealing-key";
/// The sidecar injector's annotations the manifests use, spelled as in dapr/dapr
/// (`pkg/injector/annotations`; `max-body-size` since Dapr 1.13). The injector ignores an
/// annotation it does not know, so a misspelt one would silently do nothing.
const DAPR_ANNOTATIONS: [&str; 13] = [
    "dapr.io/enabled",
    "dapr.io/app-id",
    "dapr.io/app-port",
    "dapr.io/config",
    "dapr.io/api-token-secret",
    "dapr.io/app-token-secret",
    "dapr.io/max-body-size",
    "dapr.io/sidecar-listen-addresses",
    "dapr.io/disable-builtin-k8s-secret-store",
    "dapr.io/enable-app-health-check",
    "dapr.io/app-health-check-path",
    "dapr.io/graceful-shutdown-seconds",
    "dapr.io/log-as-json",
];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("repository root").to_owned()
}

fn deploy_dir() -> PathBuf {
    repo().join("deploy/kubernetes")
}

/// Every document of a YAML file, as JSON values (empty documents skipped).
fn documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|doc| Value::deserialize(doc).unwrap_or_else(|e| panic!("{}: not YAML: {e}", path.display())))
        .filter(|v| !v.is_null())
        .collect()
}

/// The `.yaml` files under `dir`, sorted, subfolders included.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display())) {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            out.extend(yaml_files(&path));
        } else if path.extension().is_some_and(|e| e == "yaml") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// Every object of `deploy/kubernetes/`, with the file it is in.
fn manifests() -> Vec<(PathBuf, Value)> {
    yaml_files(&deploy_dir())
        .into_iter()
        .flat_map(|f| documents(&f).into_iter().map(move |d| (f.clone(), d)))
        .collect()
}

fn text<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or_else(|| panic!("no string at {pointer} in {v}"))
}

fn kind(v: &Value) -> (&str, &str) {
    (text(v, "/apiVersion"), text(v, "/kind"))
}

fn name(v: &Value) -> &str {
    text(v, "/metadata/name")
}

fn of_kind<'a>(all: &'a [(PathBuf, Value)], wanted: &str) -> Vec<&'a Value> {
    all.iter().map(|(_, v)| v).filter(|v| kind(v).1 == wanted).collect()
}

fn is_dapr(v: &Value) -> bool {
    kind(v).0.starts_with("dapr.io/")
}

fn readme() -> String {
    std::fs::read_to_string(deploy_dir().join("README.md")).expect("deploy/kubernetes/README.md")
}

/// The port of a `host:port` listen address.
fn port_of(addr: &str) -> u16 {
    addr.rsplit(':').next().and_then(|p| p.parse().ok()).unwrap_or_else(|| panic!("no port in {addr:?}"))
}

/// A container's environment: name → literal value (entries from a Secret are checked apart).
fn env_of(container: &Value) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    for var in container["env"].as_array().into_iter().flatten() {
        let key = text(var, "/name").to_owned();
        let secretish = ["PASSWORD", "TOKEN", "SECRET"].iter().any(|s| key.contains(s));
        if let Some(value) = var.get("value") {
            assert!(
                !secretish,
                "{key} is written in the manifest; take it from a Secret (valueFrom.secretKeyRef)"
            );
            let value = value.as_str().unwrap_or_else(|| panic!("{key}: value must be a string")).to_owned();
            env.insert(key, value);
        } else {
            let secret = text(var, "/valueFrom/secretKeyRef/name");
            assert!(
                readme().contains(secret),
                "{key} reads the Secret {secret}, which deploy/kubernetes/README.md does not document"
            );
        }
    }
    env
}

#[test]
fn every_kubernetes_object_validates_offline_against_the_pinned_version() {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().expect("target folder");
    let bin = keel_e2e::python::pip_tool(
        target,
        "kubernetes-validate-venv",
        "kubernetes-validate",
        KUBERNETES_VALIDATE_VERSION,
    );
    let files = yaml_files(&deploy_dir());
    let out = Command::new(bin.join("kubernetes-validate"))
        .args(["--strict", "--kubernetes-version", KUBERNETES_VERSION])
        .args(&files)
        .output()
        .expect("run kubernetes-validate");
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "kubernetes-validate refused the manifests:\n{report}");
    // Only Dapr's own kinds may lack a schema; they are checked by the tests below.
    for line in report.lines().filter(|l| l.contains("Couldn't find schema")) {
        assert!(
            line.contains("api version dapr.io/"),
            "an object kubernetes-validate could not check: {line}"
        );
    }
    let kubernetes = manifests().iter().filter(|(_, v)| !is_dapr(v)).count();
    let passed = report.lines().filter(|l| l.contains(" passed for resource ")).count();
    assert_eq!(passed, kubernetes, "every Kubernetes object validated once:\n{report}");
    assert!(kubernetes >= 15, "the manifests hold {kubernetes} Kubernetes objects");
}

#[test]
fn the_configurations_mirror_config_with_the_platforms_namespace() {
    let all = manifests();
    let deployed: BTreeMap<&str, &Value> =
        of_kind(&all, "Configuration").into_iter().map(|c| (name(c), c)).collect();
    let mut expected = BTreeSet::new();
    for file in yaml_files(&repo().join("config")) {
        let local = documents(&file).remove(0);
        let local_name = name(&local).to_owned();
        let found = deployed
            .get(local_name.as_str())
            .unwrap_or_else(|| panic!("no Configuration {local_name} for {}", file.display()));
        assert_eq!(kind(found), kind(&local));
        assert_eq!(text(found, "/metadata/namespace"), NAMESPACE);
        let mut spec = local["spec"].clone();
        for policy in
            spec.pointer_mut("/accessControl/policies").and_then(Value::as_array_mut).into_iter().flatten()
        {
            policy["namespace"] = Value::from(NAMESPACE);
        }
        assert_eq!(found["spec"], spec, "Configuration {local_name} differs from {}", file.display());
        expected.insert(local_name);
    }
    let names: BTreeSet<String> = deployed.keys().map(|k| k.to_string()).collect();
    assert_eq!(names, expected, "one Configuration per file of config/");
}

/// What dapr.yaml says about one app.
struct RunfileApp {
    port: String,
    config: String,
}

/// dapr.yaml's apps: app-id → app port and the name of its Configuration (`common`'s unless set).
fn runfile_apps() -> BTreeMap<String, RunfileApp> {
    let runfile = documents(&repo().join("dapr.yaml")).remove(0);
    let config_name = |file: &str| name(&documents(&repo().join(file)).remove(0)).to_owned();
    let common = config_name(text(&runfile, "/common/configFilePath"));
    runfile["apps"]
        .as_array()
        .expect("apps")
        .iter()
        .map(|app| {
            let config =
                app.get("configFilePath").and_then(Value::as_str).map_or(common.clone(), config_name);
            let port = app["appPort"].as_u64().expect("appPort").to_string();
            (text(app, "/appID").to_owned(), RunfileApp { port, config })
        })
        .collect()
}

#[test]
fn the_core_services_carry_the_dapr_annotations_of_dapr_yaml() {
    let all = manifests();
    let runfile = runfile_apps();
    let configurations: BTreeSet<&str> = of_kind(&all, "Configuration").into_iter().map(name).collect();
    let accounts: BTreeSet<&str> = of_kind(&all, "ServiceAccount").into_iter().map(name).collect();
    let claims: BTreeSet<&str> = of_kind(&all, "PersistentVolumeClaim").into_iter().map(name).collect();
    let readme = readme();
    let mut seen = BTreeMap::new();
    let mut token_secrets = BTreeSet::new();
    for deployment in of_kind(&all, "Deployment") {
        let pod = &deployment["spec"]["template"];
        let notes = &pod["metadata"]["annotations"];
        let note = |key: &str| text(notes, &format!("/{}", key.replace('/', "~1")));
        assert_eq!(note("dapr.io/enabled"), "true", "{}", name(deployment));
        for key in notes.as_object().expect("annotations").keys().filter(|k| k.starts_with("dapr.io/")) {
            assert!(
                DAPR_ANNOTATIONS.contains(&key.as_str()),
                "{}: unknown Dapr annotation {key}",
                name(deployment)
            );
        }
        assert_eq!(
            note("dapr.io/app-health-check-path"),
            "/healthz",
            "{}: the kit's health path",
            name(deployment)
        );
        let app_id = note("dapr.io/app-id");
        let app = runfile.get(app_id).unwrap_or_else(|| panic!("app-id {app_id} is not in dapr.yaml"));
        assert_eq!(note("dapr.io/app-port"), app.port, "{app_id}: dapr.yaml's appPort");
        assert_eq!(note("dapr.io/config"), app.config, "{app_id}: the Configuration dapr.yaml gives it");
        assert!(
            configurations.contains(note("dapr.io/config")),
            "{app_id}: no Configuration {}",
            note("dapr.io/config")
        );
        for key in ["dapr.io/api-token-secret", "dapr.io/app-token-secret"] {
            let secret = note(key);
            assert!(token_secrets.insert(secret.to_owned()), "{app_id}: {secret} is another app's token too");
            assert!(
                readme.contains(secret),
                "{app_id}: the Secret {secret} ({key}) is not in deploy/kubernetes/README.md"
            );
        }
        // The sidecars' body limit is keel's (dapr.yaml: daprHTTPMaxRequestSize 100 = 100 MiB).
        assert_eq!(note("dapr.io/max-body-size"), "100Mi", "{app_id}");
        assert_eq!(
            note("dapr.io/sidecar-listen-addresses"),
            "[::1],127.0.0.1",
            "{app_id}: sidecar API on loopback"
        );
        assert!(accounts.contains(text(pod, "/spec/serviceAccountName")), "{app_id}: its ServiceAccount");

        let containers = pod["spec"]["containers"].as_array().expect("containers");
        assert_eq!(containers.len(), 1, "{app_id}: one container (the injector adds daprd)");
        let container = &containers[0];
        let env = env_of(container);
        let listen_key = if app_id == HOSTING_APP_ID { "KEEL_HOSTING__LISTEN" } else { "KEEL_LISTEN" };
        let listen = env.get(listen_key).unwrap_or_else(|| panic!("{app_id}: {listen_key} unset"));
        assert_eq!(port_of(listen).to_string(), app.port, "{app_id}: {listen_key} is the app port");
        let named_port = |port: &Value| -> u16 {
            match port {
                Value::Number(n) => n.as_u64().expect("port") as u16,
                Value::String(s) => container["ports"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|p| p["name"] == *s)
                    .and_then(|p| p["containerPort"].as_u64())
                    .unwrap_or_else(|| panic!("{app_id}: no container port named {s}"))
                    as u16,
                other => panic!("{app_id}: probe port {other}"),
            }
        };
        let probe = |which: &str| {
            (
                text(container, &format!("/{which}/httpGet/path")).to_owned(),
                named_port(&container[which]["httpGet"]["port"]),
            )
        };
        let replicas = deployment["spec"]["replicas"].as_u64().expect("replicas");
        if app_id == KEEL_APP_ID {
            // The app port is for keel's sidecar only; the kubelet probes the admin port.
            assert!(listen.starts_with("127.0.0.1:"), "keel's app port on loopback, not {listen}");
            let admin = port_of(&env["KEEL_ADMIN_LISTEN"]);
            assert!(
                !env["KEEL_ADMIN_LISTEN"].starts_with("127."),
                "the kubelet cannot reach a loopback admin port"
            );
            assert_eq!(probe("readinessProbe"), ("/readyz".to_owned(), admin));
            assert_eq!(probe("livenessProbe"), ("/healthz".to_owned(), admin));
            let public = port_of(&env["KEEL_PUBLIC_LISTEN"]);
            let service = of_kind(&all, "Service")
                .into_iter()
                .find(|s| s["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"])
                .expect("a Service for keel");
            assert_eq!(
                named_port(&service["spec"]["ports"][0]["targetPort"]),
                public,
                "the Service reaches keel's public port"
            );
            assert_eq!(env["KEEL_MAX_BODY_BYTES"], (100u64 << 20).to_string(), "= dapr.io/max-body-size");
        } else {
            // /healthz is the one path the app token does not guard.
            let port: u16 = app.port.parse().expect("port");
            assert_eq!(probe("readinessProbe"), ("/healthz".to_owned(), port), "{app_id}");
            assert_eq!(probe("livenessProbe"), ("/healthz".to_owned(), port), "{app_id}");
        }
        if app_id == HOSTING_APP_ID {
            // It supervises its processes: one replica, the old one gone before the new starts.
            assert_eq!(replicas, 1, "hosting runs one replica");
            assert_eq!(text(deployment, "/spec/strategy/type"), "Recreate");
            let data_dir = &env["KEEL_HOSTING__DATA_DIR"];
            let mount = container["volumeMounts"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|m| m["mountPath"] == *data_dir.as_str())
                .expect("a volume at the data dir");
            let volume = pod["spec"]["volumes"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|v| v["name"] == mount["name"])
                .expect("the mounted volume");
            assert!(
                claims.contains(text(volume, "/persistentVolumeClaim/claimName")),
                "hosting's data dir is on a PersistentVolumeClaim"
            );
        } else {
            assert!(replicas >= 2, "{app_id}: {replicas} replica(s); the core services run two or more");
        }
        assert!(seen.insert(app_id.to_owned(), name(deployment)).is_none(), "{app_id} deployed twice");
    }
    let core: BTreeSet<&str> = [KEEL_APP_ID, REGISTRY_APP_ID, AUTH_APP_ID, HOSTING_APP_ID].into();
    assert_eq!(
        seen.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        core,
        "the core services, no example"
    );
}

/// components/*.yaml by component name.
fn local_components() -> BTreeMap<String, Value> {
    yaml_files(&repo().join("components"))
        .into_iter()
        .filter(|f| f.parent().is_some_and(|d| d.ends_with("components")))
        .flat_map(|f| documents(&f))
        .map(|c| (name(&c).to_owned(), c))
        .collect()
}

fn metadata_items(component: &Value) -> Vec<&Value> {
    component["spec"]["metadata"].as_array().into_iter().flatten().collect()
}

fn metadata_value<'a>(component: &'a Value, key: &str) -> Option<&'a Value> {
    metadata_items(component).into_iter().find(|m| m["name"] == key).and_then(|m| m.get("value"))
}

/// The local sqlite stores run a rollback journal: in WAL mode a disk that turns read-only kills
/// every sidecar on the file with SIGBUS (docs/scaling.md, "Store faults"; the behaviour itself
/// is tested in sidecar/tests/state_sqlite_faults.rs and tests/tests/router_store_faults.rs).
#[test]
fn the_local_sqlite_stores_run_a_rollback_journal() {
    let sqlite: Vec<(String, Value)> =
        local_components().into_iter().filter(|(_, c)| c["spec"]["type"] == "state.sqlite").collect();
    assert_eq!(
        sqlite.len(),
        3,
        "statestore, auth-state, plugins-state: {:?}",
        sqlite.iter().map(|(n, _)| n).collect::<Vec<_>>()
    );
    for (name, component) in &sqlite {
        assert_eq!(metadata_value(component, "disableWAL").and_then(Value::as_str), Some("true"), "{name}");
    }
}

#[test]
fn each_state_store_variant_has_the_names_scopes_and_metadata_of_components() {
    let local = local_components();
    let readme = readme();
    let core: BTreeSet<&str> = [KEEL_APP_ID, REGISTRY_APP_ID, AUTH_APP_ID, HOSTING_APP_ID].into();
    let variants = yaml_files(&deploy_dir().join("state"));
    assert_eq!(variants.len(), 2, "a Redis and a PostgreSQL variant: {variants:?}");
    for file in variants {
        let stores = documents(&file);
        let names: BTreeSet<&str> = stores.iter().map(name).collect();
        assert_eq!(names, ["auth-state", "plugins-state", "statestore"].into(), "{}", file.display());
        for store in &stores {
            let store_name = name(store);
            assert_eq!(kind(store), ("dapr.io/v1alpha1", "Component"));
            assert_eq!(text(store, "/metadata/namespace"), NAMESPACE);
            let store_type = text(store, "/spec/type");
            let flavour = store_type.strip_prefix("state.").expect("a state store");
            let production =
                documents(&repo().join(format!("components/production/statestore.{flavour}.yaml"))).remove(0);
            assert_eq!(text(&production, "/spec/type"), store_type);
            assert_eq!(store["spec"]["version"], production["spec"]["version"], "{store_name}: version");
            let known: BTreeSet<&str> =
                metadata_items(&production).iter().map(|m| text(m, "/name")).collect();
            for item in metadata_items(store) {
                let key = text(item, "/name");
                assert!(
                    known.contains(key),
                    "{store_name} ({}): metadata {key} is not in components/production/",
                    file.display()
                );
                if key.contains("assword") || key == "connectionString" {
                    assert!(item.get("value").is_none(), "{store_name}: {key} written in the file");
                    let secret = text(item, "/secretKeyRef/name");
                    assert!(
                        readme.contains(secret),
                        "{store_name}: the Secret {secret} is not in deploy/kubernetes/README.md"
                    );
                }
            }
            let mine =
                local.get(store_name).unwrap_or_else(|| panic!("no components/ file for {store_name}"));
            assert_eq!(store["scopes"], mine["scopes"], "{store_name}: the scopes of components/");
            assert_eq!(
                metadata_value(store, "keyPrefix"),
                metadata_value(mine, "keyPrefix"),
                "{store_name}: keyPrefix"
            );
            for scope in store["scopes"].as_array().expect("scopes") {
                assert!(core.contains(scope.as_str().expect("scope")), "{store_name}: scope {scope}");
            }
        }
    }
}

#[test]
fn the_secret_stores_keep_their_names_and_only_their_service_reads_its_key() {
    let all = manifests();
    let local = local_components();
    let namespaces: BTreeSet<&str> = of_kind(&all, "Namespace").into_iter().map(name).collect();
    let accounts: BTreeMap<&str, &str> = of_kind(&all, "Deployment")
        .into_iter()
        .map(|d| {
            let pod = &d["spec"]["template"];
            (text(pod, "/metadata/annotations/dapr.io~1app-id"), text(pod, "/spec/serviceAccountName"))
        })
        .collect();
    let stores: Vec<&Value> = of_kind(&all, "Component")
        .into_iter()
        .filter(|c| text(c, "/spec/type").starts_with("secretstores."))
        .collect();
    let expected: BTreeSet<&str> =
        local.values().filter(|c| text(c, "/spec/type").starts_with("secretstores.")).map(name).collect();
    assert_eq!(
        stores.iter().map(|s| name(s)).collect::<BTreeSet<_>>(),
        expected,
        "the secret stores of components/"
    );
    for store in stores {
        let store_name = name(store);
        assert_eq!(text(store, "/spec/type"), "secretstores.kubernetes");
        assert_eq!(store["scopes"], local[store_name]["scopes"], "{store_name}: scopes");
        let scopes = store["scopes"].as_array().expect("scopes");
        assert_eq!(scopes.len(), 1, "{store_name}: one service reads it");
        let account = accounts[scopes[0].as_str().expect("scope")];
        let ns = metadata_value(store, "defaultNamespace").and_then(Value::as_str).expect("defaultNamespace");
        assert!(namespaces.contains(ns), "{store_name}: namespace {ns} is created");
        assert!(readme().contains(ns), "{store_name}: README says to create {SEALING_SECRET} in {ns}");
        // Exactly one binding in that namespace, to that service's account, for that one Secret.
        let bindings: Vec<&Value> = of_kind(&all, "RoleBinding")
            .into_iter()
            .filter(|b| text(b, "/metadata/namespace") == ns)
            .collect();
        assert_eq!(bindings.len(), 1, "{store_name}: one RoleBinding in {ns}");
        let subjects = bindings[0]["subjects"].as_array().expect("subjects");
        assert_eq!(subjects.len(), 1);
        assert_eq!((text(&subjects[0], "/name"), text(&subjects[0], "/namespace")), (account, NAMESPACE));
        let role_name = text(bindings[0], "/roleRef/name");
        let role = of_kind(&all, "Role")
            .into_iter()
            .find(|r| name(r) == role_name && text(r, "/metadata/namespace") == ns)
            .expect("the bound Role");
        for rule in role["rules"].as_array().expect("rules") {
            assert_eq!(
                rule["resourceNames"],
                serde_json::json!([SEALING_SECRET]),
                "{store_name}: the sealing key only"
            );
            assert_eq!(rule["verbs"], serde_json::json!(["get"]));
        }
    }
}

#[test]
fn no_secret_is_written_in_the_manifests() {
    for (file, object) in manifests() {
        assert_ne!(
            kind(&object).1,
            "Secret",
            "{}: Secrets are created by the operator (README.md), not shipped",
            file.display()
        );
        if kind(&object).1 == "Deployment" {
            for container in object["spec"]["template"]["spec"]["containers"].as_array().expect("containers")
            {
                env_of(container);
            }
        }
    }
}

#[test]
fn every_selector_picks_pods_of_a_deployment() {
    let all = manifests();
    let pods: Vec<&serde_json::Map<String, Value>> = of_kind(&all, "Deployment")
        .into_iter()
        .map(|d| d["spec"]["template"]["metadata"]["labels"].as_object().expect("pod labels"))
        .collect();
    let picks = |selector: &Value| {
        let wanted = selector.as_object().expect("selector labels");
        pods.iter().any(|labels| wanted.iter().all(|(k, v)| labels.get(k) == Some(v)))
    };
    for deployment in of_kind(&all, "Deployment") {
        let own = &deployment["spec"]["template"]["metadata"]["labels"];
        let wanted = deployment["spec"]["selector"]["matchLabels"].as_object().expect("matchLabels");
        assert!(
            wanted.iter().all(|(k, v)| own.get(k) == Some(v)),
            "{}: its selector misses its own pods",
            name(deployment)
        );
    }
    for service in of_kind(&all, "Service") {
        assert!(picks(&service["spec"]["selector"]), "Service {} selects no pod", name(service));
    }
    for budget in of_kind(&all, "PodDisruptionBudget") {
        assert!(
            picks(&budget["spec"]["selector"]["matchLabels"]),
            "PodDisruptionBudget {} selects no pod",
            name(budget)
        );
    }
    for policy in of_kind(&all, "NetworkPolicy") {
        assert!(
            picks(&policy["spec"]["podSelector"]["matchLabels"]),
            "NetworkPolicy {} selects no pod",
            name(policy)
        );
    }
}
