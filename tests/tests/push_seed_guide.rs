//! The seed guide's own plugin (`../shared/seeds/003_82756967415d5850.txt`, section 3's
//! `main.py`), unmodified, against the platform: it registers itself at the registry's push API,
//! heartbeats, and is reached through keel's gateway; every curl of section 5 is run as written.
//!
//! The guide hard-codes its ports: the registry at `localhost:8001`, the gateway at
//! `localhost:8000`, itself at `localhost:8010`. So this test runs the platform on those fixed
//! ports (the stock `dapr.yaml`'s), and `.config/nextest.toml` puts it in the `fixed-ports`
//! group with the other tests that use them, one at a time. The guide's text is read at run time
//! (the project does not copy it); its pinned dependencies go into `target/push-guide-venv`.
//!
//! Liveness by heartbeats: the guide heartbeats every 30 s and declares no interval, so the
//! platform's default interval counts; the test sets it to 11 s, a TTL of 33 s (3 missed
//! intervals) that the guide's 30 s heartbeats keep alive, instead of the default 90 s, to stay
//! short. Freezing the process (SIGSTOP) makes it `UNREACHABLE` (503 at the gateway) once 33 s
//! pass without a heartbeat, thawing it (SIGCONT) sends its overdue heartbeat, which brings it
//! back at once, and stopping it (SIGTERM: uvicorn's shutdown hook) deregisters it. The guide
//! also gives a `health_check_url`, which the registry probes; a frozen process fails the probes
//! too, so here they are made never to decide (`probe_failures` out of reach) and the freeze
//! shows the heartbeats' expiry alone. Probes deciding are `push_refusals`' (the gateway test).

mod push_support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use keel_e2e::{eventually, Platform};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use push_support::{call, listed, wait_gateway, wait_status, REGISTRY};
use serde_json::{json, Value};

/// The seed, beside the repository (`shared/seeds/`), or where `KEEL_SEEDS_DIR` says.
fn seed() -> String {
    let dir = std::env::var("KEEL_SEEDS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/seeds"));
    let path = dir.join("003_82756967415d5850.txt");
    let alt = Path::new("/work/shared/seeds/003_82756967415d5850.txt");
    std::fs::read_to_string(&path)
        .or_else(|_| std::fs::read_to_string(alt))
        .unwrap_or_else(|e| panic!("the seed guide {}: {e}", path.display()))
}

/// The first fenced block of `lang` after the heading that starts with `heading`.
fn block(text: &str, heading: &str, lang: &str) -> String {
    let start = text.find(heading).unwrap_or_else(|| panic!("no heading {heading:?} in the guide"));
    let rest = &text[start..];
    let fence = format!("```{lang}\n");
    let open = rest.find(&fence).unwrap_or_else(|| panic!("no {lang} block after {heading:?}")) + fence.len();
    let close = rest[open..].find("\n```").expect("unterminated block") + open;
    rest[open..close].to_owned()
}

/// The pinned dependencies of the guide's `uv pip install fastapi uvicorn httpx pydantic`.
const PINS: [&str; 4] = ["fastapi==0.165.0", "uvicorn==0.38.0", "httpx==0.28.1", "pydantic==2.14.4"];

fn venv() -> PathBuf {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().expect("target folder").to_owned();
    let venv = target.join("push-guide-venv");
    let python = venv.join("bin/python");
    let stamp = venv.join(format!(".pins-{}", PINS.join("-")));
    if !stamp.exists() {
        let ok = Command::new("python3").args(["-m", "venv"]).arg(&venv).status().expect("python3 -m venv");
        assert!(ok.success(), "python3 -m venv failed");
        let ok = Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .args(PINS)
            .status()
            .expect("pip install");
        assert!(ok.success(), "pip install {PINS:?} failed");
        std::fs::write(&stamp, "").expect("stamp");
    }
    python
}

/// The guide's plugin, running; killed when dropped.
struct Guide(Child);

impl Drop for Guide {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The commands of section 5's bash block: each starts at a line beginning with `curl` and runs
/// to the next one (bash itself reads the continuation lines and the quoted multi-line body).
fn curls(text: &str) -> Vec<String> {
    let bash = block(text, "### 5.", "bash");
    let mut out: Vec<String> = Vec::new();
    for line in bash.lines() {
        if line.starts_with("curl ") {
            out.push(String::new());
        } else if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if let Some(current) = out.last_mut() {
            current.push_str(line);
            current.push('\n');
        }
    }
    out
}

fn run_curl(cmd: &str) -> Value {
    // `-s` only: the guide's command otherwise as written (curl prints progress to stderr).
    let cmd = cmd.replacen("curl ", "curl -s ", 1);
    let out = Command::new("bash").args(["-c", &cmd]).output().expect("bash");
    assert!(out.status.success(), "{cmd}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{cmd}: not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

/// Now, in ms since the epoch (the registry's clock: the same machine).
fn now_ms() -> u64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since.map_or(0, |d| d.as_millis() as u64)
}

#[actix_rt::test]
async fn the_guides_own_plugin_registers_is_routed_expires_recovers_and_deregisters() {
    let text = seed();
    let main_py = block(&text, "### 3.", "python");
    assert!(main_py.contains("REGISTRY_URL = \"http://localhost:8001\""), "the guide changed");
    let python = venv();

    let mut p = Platform::new();
    let liveness = [("KEEL_PUSH__HEARTBEAT_INTERVAL_MS", "11000"), ("KEEL_PUSH__PROBE_FAILURES", "1000000")];
    let (push, public) =
        push_support::platform(&mut p, Some("127.0.0.1:8001"), Some("127.0.0.1:8000"), &liveness).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.py"), &main_py).unwrap();
    let log = dir.path().join("main.log");
    let out = std::fs::File::create(&log).unwrap();
    let child = Command::new(&python)
        .arg("main.py")
        .current_dir(dir.path())
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONIOENCODING", "utf-8")
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .expect("python main.py");
    let mut guide = Guide(child);
    let pid = Pid::from_raw(guide.0.id() as i32);
    let shown = || std::fs::read_to_string(&log).unwrap_or_default();

    // It registered (the guide prints its success line) and keel routes to it.
    let entry = wait_status(&push, "my-plugin", "ACTIVE").await;
    // The guide prints its line once the registry's answer is back, which may be just after the
    // registry shows the service.
    eventually("the guide's success line", Duration::from_secs(10), || async {
        shown().contains("✓ 服务注册成功: my-plugin").then_some(())
    })
    .await;
    assert_eq!(entry["kind"], "pushed");
    assert_eq!(entry["version"], "1.0.0");
    assert_eq!(entry["tags"], json!(["plugin", "custom"]));
    assert_eq!(entry["endpoints"].as_array().unwrap().len(), 3);
    wait_gateway(&format!("{public}/api/my-plugin/hello?name=Developer"), 200).await;
    // The registry's management listing (keelctl's) has it too, with its kind.
    let (status, _, listing) = call("GET", &format!("{}/v1/plugins", p.app_url(REGISTRY)), None).await;
    assert_eq!(status, 200, "{listing}");
    let plugins = listing["plugins"].as_array().unwrap_or_else(|| panic!("{listing}"));
    let view = plugins.iter().find(|v| v["id"] == "my-plugin").unwrap_or_else(|| panic!("{listing}"));
    assert_eq!((view["kind"].as_str(), view["status"].as_str()), (Some("pushed"), Some("ACTIVE")), "{view}");
    assert!(plugins.iter().any(|v| v["id"] == "plugins" && v.get("kind").is_none()), "{listing}");

    // Section 5, every command as written.
    let commands = curls(&text);
    assert_eq!(commands.len(), 5, "{commands:?}");
    assert_eq!(run_curl(&commands[0]), json!({"message": "Hello, Developer!"}), "direct");
    assert_eq!(run_curl(&commands[1]), json!({"message": "Hello, Developer!"}), "through the gateway");
    let created = run_curl(&commands[2]);
    assert_eq!(created["status"], "created", "{created}");
    assert_eq!(created["item"], json!({"id": 1, "title": "测试数据", "content": "这是测试内容"}));
    let data = run_curl(&commands[3]);
    assert_eq!(data["count"], 1, "{data}");
    let services = run_curl(&commands[4]);
    let mine = services["services"].as_array().unwrap().iter().find(|s| s["name"] == "my-plugin").cloned();
    let mine = mine.unwrap_or_else(|| panic!("my-plugin not listed: {services}"));
    assert_eq!(
        (mine["status"].as_str(), mine["host"].as_str(), mine["port"].as_u64()),
        (Some("ACTIVE"), Some("localhost"), Some(8010))
    );
    assert!(mine["last_heartbeat"].as_str().is_some_and(|s| s.ends_with('Z')), "{mine}");
    // `data` covers `data/1` (the guide's undeclared item route), the rest does not route.
    let (status, _, item) = call("GET", &format!("{public}/api/my-plugin/data/1"), None).await;
    assert_eq!((status, item["title"].as_str()), (200, Some("测试数据")));
    let (status, headers, _) = call("GET", &format!("{public}/api/my-plugin/health"), None).await;
    assert_eq!(status, 404);
    assert_eq!(headers.get("x-keel-error").map(|v| v.as_bytes()), Some(&b"1"[..]));

    // Frozen: no heartbeat for three intervals (33 s), it becomes UNREACHABLE and the gateway
    // says 503.
    kill(pid, Signal::SIGSTOP).unwrap();
    let expired =
        eventually("my-plugin UNREACHABLE by missed heartbeats", Duration::from_secs(60), || async {
            listed(&push, "my-plugin").await.filter(|s| s["status"] == "UNREACHABLE")
        })
        .await;
    let last = expired["last_heartbeat_ms"].as_u64().unwrap_or_else(|| panic!("{expired}"));
    let silent = now_ms().saturating_sub(last);
    assert!(silent >= 33_000, "UNREACHABLE after only {silent} ms without a heartbeat: {expired}");
    let (headers, body) = wait_gateway(&format!("{public}/api/my-plugin/hello"), 503).await;
    assert!(headers.contains_key("retry-after"), "{body}");
    assert_eq!(body["code"], "ERR_PLUGIN_NOT_ACTIVE", "{body}");
    // Thawed: its overdue heartbeat brings it back at once.
    kill(pid, Signal::SIGCONT).unwrap();
    let back = wait_status(&push, "my-plugin", "ACTIVE").await;
    assert!(back["last_heartbeat_ms"].as_u64() > Some(last), "back by a heartbeat: {back}");
    wait_gateway(&format!("{public}/api/my-plugin/hello"), 200).await;

    // Stopped: its shutdown hook deregisters it; the gateway no longer knows the name.
    kill(pid, Signal::SIGTERM).unwrap();
    let _ = guide.0.wait();
    eventually("my-plugin deregistered", Duration::from_secs(30), || async {
        listed(&push, "my-plugin").await.is_none().then_some(())
    })
    .await;
    assert!(shown().contains("✓ 服务注销成功"), "{}", shown());
    let (_, body) = wait_gateway(&format!("{public}/api/my-plugin/hello"), 404).await;
    assert!(body["msg"].as_str().unwrap_or("").contains("my-plugin"), "{body}");
}
