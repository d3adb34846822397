//! `keelctl` against a running platform (keel's public port, auth, the registry): what a script
//! relies on — exit codes, JSON output, the owner-only token file — and errors in the CLI's own
//! words: its flags instead of the API's parameters, hints for a `--url` that is not keel's
//! public port, and a status whose errors say when they happened; a pushed service listed with
//! its kind.

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output};
use std::time::Duration;

mod hosting_support;

use keel_e2e::platform::START_LIMIT;
use keel_e2e::{bin_path, eventually, wait_healthy, AppSpec, Platform};
use serde_json::Value;

const PASSWORD: &str = "cli-test-password";

struct Cli {
    url: String,
    home: tempfile::TempDir,
}

impl Cli {
    fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        self.run_at(&self.url, args, stdin)
    }

    fn command(&self, url: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(bin_path("keelctl"));
        cmd.args(["--url", url]).args(args).env("HOME", self.home.path()).env_remove("XDG_CONFIG_HOME");
        cmd.env_remove("KEEL_PASSWORD");
        cmd
    }

    /// Starts `keelctl args` with its stdout piped (one that runs until something happens).
    fn spawn(&self, args: &[&str]) -> Running {
        let child = self
            .command(&self.url, args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        Running(child)
    }

    /// Runs with `--url url` instead of the platform's public URL.
    fn run_at(&self, url: &str, args: &[&str], stdin: Option<&str>) -> Output {
        let mut cmd = self.command(url, args);
        match stdin {
            Some(input) => {
                use std::io::Write;
                let mut child = cmd
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap();
                child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
                child.wait_with_output().unwrap()
            }
            None => cmd.output().unwrap(),
        }
    }
}

/// A `keelctl` still running; killed if the test ends first.
struct Running(std::process::Child);

impl Running {
    /// What it prints, line by line, read on a thread of its own.
    fn lines(&mut self) -> std::sync::mpsc::Receiver<String> {
        use std::io::BufRead;
        let out = self.0.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        rx
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// auth, the registry (with `registry_env`) and keel, and a CLI logged in as the super-admin.
async fn platform_and_cli(registry_env: &[(&str, &str)]) -> (Platform, Cli) {
    platform_with(Platform::new(), registry_env).await
}

/// [`platform_and_cli`] on a platform where other apps run already.
async fn platform_with(mut p: Platform, registry_env: &[(&str, &str)]) -> (Platform, Cli) {
    p.start(AppSpec::bin("auth", "auth").env("KEEL_ADMIN_PASSWORD", PASSWORD)).await;
    let mut registry = AppSpec::bin("plugins", "plugins-manager");
    for (k, v) in registry_env {
        registry = registry.env(k, *v);
    }
    p.start(registry).await;
    // A hosted service's bundle (a binary inside) is bigger than daprd's 4 MiB default body.
    let keel = AppSpec::keel().sidecar_args(&["--max-body-size", "64Mi"]);
    let public = keel.env_value("KEEL_PUBLIC_LISTEN").unwrap().to_owned();
    let admin = keel.env_value("KEEL_ADMIN_LISTEN").unwrap().to_owned();
    p.start(keel).await;
    // Routes loaded: before that keel answers every public request 503, whatever it is.
    wait_healthy(&format!("http://{admin}/readyz"), START_LIMIT, String::new).await;
    let cli = Cli { url: format!("http://{public}"), home: tempfile::tempdir().unwrap() };
    eventually("auth and keel ready for a login", Duration::from_secs(30), || async {
        let out = cli.run(&["login", "-u", "admin", "--password-stdin"], Some(&format!("{PASSWORD}\n")));
        (code(&out) == 0).then_some(())
    })
    .await;
    (p, cli)
}

/// The `keelctl status` line of plugin `id`, squashed to single spaces.
fn status_line(cli: &Cli, id: &str) -> Option<String> {
    line_of(cli, &["status"], id)
}

/// The line of plugin `id` in what `keelctl <args>` prints, squashed to single spaces.
fn line_of(cli: &Cli, args: &[&str], id: &str) -> Option<String> {
    let out = cli.run(args, None);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some(id))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
}

#[actix_rt::test]
async fn keelctl_gives_scripts_stable_exit_codes_json_and_a_private_token_file() {
    let mut p = Platform::new();
    p.start(AppSpec::bin("auth", "auth").env("KEEL_ADMIN_PASSWORD", PASSWORD)).await;
    p.start(AppSpec::bin("plugins", "plugins-manager")).await;
    let keel = AppSpec::keel();
    let public = keel.env_value("KEEL_PUBLIC_LISTEN").unwrap().to_owned();
    let admin = keel.env_value("KEEL_ADMIN_LISTEN").unwrap().to_owned();
    p.start(keel).await;
    // Routes loaded: before that keel answers every public request 503, whatever it is.
    wait_healthy(&format!("http://{admin}/readyz"), START_LIMIT, String::new).await;
    let cli = Cli { url: format!("http://{public}"), home: tempfile::tempdir().unwrap() };

    // Not logged in: 3, and the message says what to do.
    let out = cli.run(&["plugins", "list"], None);
    assert_eq!(code(&out), 3, "{}", text(&out));
    assert!(text(&out).contains("keelctl login"), "{}", text(&out));

    // A wrong password is 3 too, with auth's words, and stores nothing.
    let out = cli.run(&["login", "-u", "admin", "--password-stdin"], Some("wrong-password\n"));
    assert_eq!(code(&out), 3, "{}", text(&out));
    let creds = cli.home.path().join(".config/keel/credentials.json");
    assert!(!creds.exists());

    // The right one stores the token, readable by its owner only.
    let out = eventually("auth and keel ready for a login", Duration::from_secs(30), || async {
        let out = cli.run(&["login", "-u", "admin", "--password-stdin"], Some(&format!("{PASSWORD}\n")));
        (code(&out) == 0).then_some(out)
    })
    .await;
    assert!(text(&out).contains("logged in as admin"), "{}", text(&out));
    let mode = std::fs::metadata(&creds).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "credentials file mode {mode:o}");
    assert!(!text(&out).contains(&std::fs::read_to_string(&creds).unwrap()[20..60]), "token printed");

    // JSON listings for scripts: the core services, once the registry has registered them.
    let listed: Value = eventually("the core services listed", Duration::from_secs(60), || async {
        let out = cli.run(&["--output", "json", "plugins", "list"], None);
        let v: Value = serde_json::from_slice(&out.stdout).ok()?;
        let ids: Vec<&str> = v.as_array()?.iter().filter_map(|p| p["id"].as_str()).collect();
        (code(&out) == 0 && ["auth", "keel", "plugins"].iter().all(|id| ids.contains(id))).then_some(v)
    })
    .await;
    assert!(listed.as_array().unwrap().iter().all(|p| p.get("status").is_some()), "{listed}");

    // A table for people.
    let out = cli.run(&["status"], None);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ID"), "{}", text(&out));

    // Not found: 5, with the registry's words, its code, and where to look. Conflict (a core
    // service cannot be unregistered): 4 or 6 per the registry's refusal (403 for core
    // services). Unreachable plugin on registration: 7.
    let out = cli.run(&["plugins", "get", "nope"], None);
    assert_eq!(code(&out), 5, "{}", text(&out));
    for part in ["plugin \"nope\" is not registered", "ERR_UNKNOWN_PLUGIN", "hint: `keelctl plugins list`"] {
        assert!(text(&out).contains(part), "{part:?} in {}", text(&out));
    }
    let out = cli.run(&["plugins", "unregister", "auth"], None);
    assert_eq!(code(&out), 4, "{}", text(&out));
    let out = cli.run(&["plugins", "register", "ghost", "--wait", "1"], None);
    assert_eq!(code(&out), 7, "{}", text(&out));
    assert!(text(&out).contains("ghost"), "{}", text(&out));

    // keel down: 7 with the URL named.
    let cli_down = Cli { url: "http://127.0.0.1:9".into(), home: tempfile::tempdir().unwrap() };
    std::fs::create_dir_all(cli_down.home.path().join(".config/keel")).unwrap();
    std::fs::copy(&creds, cli_down.home.path().join(".config/keel/credentials.json")).unwrap();
    let out = cli_down.run(&["plugins", "list"], None);
    assert_eq!(code(&out), 7, "{}", text(&out));
    assert!(text(&out).contains("127.0.0.1:9"), "{}", text(&out));

    // Usage errors: 2, a malformed URL included (it is not "cannot reach": nothing was sent).
    let out = cli.run(&["plugins", "frobnicate"], None);
    assert_eq!(code(&out), 2, "{}", text(&out));
    let out = cli.run_at("localhost:8000", &["plugins", "list"], None);
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(text(&out).contains("did you mean http://localhost:8000"), "{}", text(&out));

    // --help describes the commands and lists the exit codes.
    let out = cli.run(&["--help"], None);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(
        text(&out).contains("Exit codes") && text(&out).contains("7  platform unavailable"),
        "{}",
        text(&out)
    );
}

#[actix_rt::test]
async fn keelctl_names_its_own_flags_and_commands_not_the_apis() {
    let (mut p, cli) = platform_and_cli(&[]).await;
    p.start(AppSpec::bin("greeter", "fake-plugin").env("FAKE_ADDONS", "decorate")).await;
    p.start(AppSpec::bin("emoji", "fake-plugin").env("FAKE_IMPLEMENTS", "greeter@1:decorate=hooks/decorate"))
        .await;
    for id in ["greeter", "emoji"] {
        let out = cli.run(&["plugins", "register", id], None);
        assert_eq!(code(&out), 0, "{}", text(&out));
    }

    // In use: 6, and the way out is the CLI's flag, not the API's query parameter.
    let out = cli.run(&["plugins", "unregister", "greeter"], None);
    assert_eq!(code(&out), 6, "{}", text(&out));
    let said = text(&out);
    assert!(said.contains("\"emoji\" implements \"decorate\"") && said.contains("--force"), "{said}");
    assert!(said.contains("ERR_IN_USE") && !said.contains("?force"), "{said}");

    // Registered already: 6, and the way out is a keelctl command, not DELETE /v1/plugins/....
    let out = cli.run(&["plugins", "register", "emoji", "--wait", "0"], None);
    assert_eq!(code(&out), 6, "{}", text(&out));
    let said = text(&out);
    assert!(said.contains("keelctl plugins unregister emoji") && !said.contains("DELETE /v1"), "{said}");

    // A malformed id or document is the command line's fault: 2, with the platform's words.
    let out = cli.run(&["plugins", "register", "Not_An_Id", "--wait", "0"], None);
    assert_eq!(code(&out), 2, "{}", text(&out));
    let out = cli.run(&["tenants", "create", r#"{"id": "acme", "nmae": "typo"}"#], None);
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(text(&out).contains("unknown field `nmae`"), "{}", text(&out));

    // --force does what the message says.
    let out = cli.run(&["plugins", "unregister", "greeter", "--force"], None);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let out = cli.run(&["-o", "json", "plugins", "get", "emoji"], None);
    let emoji: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", text(&out)));
    assert_eq!(emoji["implements"], serde_json::json!([]), "{emoji}");
    assert!(emoji.get("ret").is_none(), "records are printed without the envelope: {emoji}");

    // --url at a sidecar (the Dapr API, whose 404 is a Dapr error body) or at keel's app port:
    // a usage error that says where to point instead, not a raw 404 or "token refused".
    for (url, says) in [(p.dapr_url("keel"), "Dapr sidecar"), (p.app_url("keel"), "keel's app port")] {
        let out = cli.run_at(&url, &["plugins", "list"], None);
        assert_eq!(code(&out), 2, "{url}: {}", text(&out));
        let said = text(&out);
        assert!(said.contains(says) && said.contains("public port") && said.contains(&url), "{url}: {said}");
    }
}

#[actix_rt::test]
async fn keelctl_status_dates_the_latest_checks_error_and_clears_it_after_a_good_check() {
    // Polls every 300 ms; never UNREACHABLE, so the plugin stays ACTIVE beside its error.
    let (mut p, cli) =
        platform_and_cli(&[("KEEL_POLL_INTERVAL_MS", "300"), ("KEEL_UNREACHABLE_AFTER", "1000")]).await;
    p.start(AppSpec::bin("flaky", "fake-plugin")).await;
    let out = cli.run(&["plugins", "register", "flaky"], None);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(status_line(&cli, "flaky").unwrap().split(' ').nth(1), Some("ACTIVE"));

    let mode = |m: &'static str| {
        let url = format!("{}/fake/status-mode", p.app_url("flaky"));
        async move {
            let res = keel_e2e::client().post(url).send_body(m).await.unwrap();
            assert!(res.status().is_success());
        }
    };
    mode("error").await;
    // ACTIVE beside an error that says how old it is and how many checks in a row failed.
    let line = eventually("flaky's failed checks in keelctl status", Duration::from_secs(30), || async {
        status_line(&cli, "flaky").filter(|l| l.contains(" in a row): "))
    })
    .await;
    let words: Vec<&str> = line.split(' ').collect();
    assert_eq!(words[1], "ACTIVE", "{line}");
    assert!(words[2..].join(" ").contains("ago"), "LAST CHECK and LAST ERROR say when: {line}");
    assert!(line.contains("HTTP 500"), "the check's own error: {line}");

    // One good check and the error is gone.
    mode("ok").await;
    eventually("flaky's error cleared in keelctl status", Duration::from_secs(30), || async {
        status_line(&cli, "flaky").filter(|l| l.ends_with(" - plugin"))
    })
    .await;
}

#[actix_rt::test]
async fn keelctl_shows_a_pushed_service_with_its_kind_in_plugins_list_and_status() {
    let (p, cli) = platform_and_cli(&[]).await;
    let push = p.app("plugins").spec.env_value("KEEL_PUSH__LISTEN").expect("push listener").to_owned();
    // Registered by push from loopback (open registration); nothing needs to run behind it for
    // the listings.
    let body = serde_json::json!({"name": "pushed", "version": "1.0.0", "host": "127.0.0.1", "port": 9});
    let registered = eventually("the push API registering", Duration::from_secs(30), || async {
        let res =
            keel_e2e::client().post(format!("http://{push}/api/registry/register")).send_json(&body).await;
        res.ok().map(|r| r.status().as_u16())
    })
    .await;
    assert_eq!(registered, 201);
    let line = eventually("the pushed service in keelctl status", Duration::from_secs(30), || async {
        status_line(&cli, "pushed")
    })
    .await;
    assert!(line.starts_with("pushed ACTIVE ") && line.ends_with(" - pushed"), "{line}");
    let core = eventually("the registry in keelctl status", Duration::from_secs(30), || async {
        status_line(&cli, "plugins")
    })
    .await;
    assert!(core.ends_with(" plugin"), "a pull-registered one says so: {core}");
    let listed = line_of(&cli, &["plugins", "list"], "pushed").unwrap_or_default();
    assert!(listed.starts_with("pushed ACTIVE 1.0.0 ") && listed.ends_with(" pushed"), "{listed}");
    let out = cli.run(&["-o", "json", "plugins", "list"], None);
    let all: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", text(&out)));
    let view = all.as_array().and_then(|a| a.iter().find(|v| v["id"] == "pushed")).cloned();
    assert_eq!(view.as_ref().map(|v| v["kind"].clone()), Some(serde_json::json!("pushed")), "{all}");
}

#[actix_rt::test]
async fn hosting_commands_install_a_folder_or_an_archive_list_follow_logs_and_uninstall() {
    let mut p = Platform::new();
    let (spec, _) = hosting_support::spec(&p, &[]);
    p.start(spec.sidecar_args(&["--max-body-size", "64Mi"])).await;
    let (p, cli) = platform_with(p, &[("KEEL_CORE_RETRY_MAX_MS", "500")]).await;
    // A bundle folder as a developer has it.
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("hello-bundle");
    std::fs::create_dir_all(bundle.join("workspace")).unwrap();
    std::fs::write(
        bundle.join("plugin.yaml"),
        hosting_support::manifest("cli-hello", "1.0.0", "clihello", "cli", true),
    )
    .unwrap();
    for (name, data) in [
        ("start.sh", hosting_support::our_start_script()),
        ("hello_service", hosting_support::hello_binary()),
    ] {
        let path = bundle.join("workspace").join(name);
        std::fs::write(&path, data).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    // The registry registers hosting at boot; until keel routes to it the CLI says unavailable (7).
    let out = eventually("keelctl hosting install", START_LIMIT, || async {
        let out = cli.run(&["hosting", "install", bundle.to_str().unwrap(), "-o", "json"], None);
        (code(&out) != 7).then_some(out)
    })
    .await;
    assert_eq!(code(&out), 0, "{}", text(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((v["app_id"].as_str(), v["root_route"].as_str()), (Some("cli-hello"), Some("clihello")));

    eventually("RUNNING in the listing", Duration::from_secs(60), || async {
        let out = cli.run(&["hosting", "list"], None);
        let listing = text(&out);
        (code(&out) == 0 && listing.contains("cli-hello") && listing.contains("RUNNING")).then_some(())
    })
    .await;
    let out = cli.run(&["hosting", "logs", "cli-hello", "--tail", "50"], None);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let out_text = text(&out);
    assert!(out_text.contains("hosted-hello: pid"), "{out_text}");
    // --follow, through keel: the tail first, then a line written after it started (the
    // restarted service's first), and it ends when the service is uninstalled.
    let out = cli.run(&["hosting", "get", "cli-hello", "-o", "json"], None);
    let first: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut follow = cli.spawn(&["hosting", "logs", "cli-hello", "--follow", "--tail", "1"]);
    let lines = follow.lines();
    let mut printed = Vec::new();
    let mut wait_line = |wanted: String| {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !printed.iter().any(|l: &String| l.contains(&wanted)) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) => printed.push(line),
                Err(e) => panic!("keelctl hosting logs --follow printed no {wanted:?} ({e}): {printed:?}"),
            }
        }
    };
    wait_line(format!("hosted-hello: pid {},", first["pid"]));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(first["pid"].as_i64().unwrap() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let again = eventually("cli-hello running under a new pid", Duration::from_secs(60), || async {
        let out = cli.run(&["hosting", "get", "cli-hello", "-o", "json"], None);
        let v: Value = serde_json::from_slice(&out.stdout).ok()?;
        (v["status"] == "RUNNING" && v["pid"] != first["pid"]).then_some(v)
    })
    .await;
    wait_line(format!("hosted-hello: pid {},", again["pid"]));
    // Unknown services are 5 with the way to find the right name.
    let out = cli.run(&["hosting", "get", "nope"], None);
    assert_eq!(code(&out), 5, "{}", text(&out));
    assert!(text(&out).contains("keelctl hosting list"), "{}", text(&out));
    // Not a bundle: a usage error before anything is sent.
    let out = cli.run(&["hosting", "install", dir.path().to_str().unwrap()], None);
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(text(&out).contains("plugin.yaml"), "{}", text(&out));

    let out = cli.run(&["hosting", "uninstall", "cli-hello"], None);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let ended = eventually("keelctl hosting logs --follow ends", Duration::from_secs(30), || {
        let status = follow.0.try_wait().unwrap();
        async move { status }
    })
    .await;
    assert_eq!(ended.code(), Some(0));

    // An archive installs as well; a file that is no .tar.gz is a usage error (2), nothing sent.
    let archive = dir.path().join("hello.tar.gz");
    std::fs::write(&archive, hosting_support::hello_bundle("cli-archive", "1.0.0", "cliarchive", ""))
        .unwrap();
    let out = cli.run(&["hosting", "install", archive.to_str().unwrap(), "-o", "json"], None);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["app_id"], "cli-archive");
    let not_gzip = dir.path().join("plain.tar");
    std::fs::write(&not_gzip, b"plain bytes").unwrap();
    let out = cli.run(&["hosting", "install", not_gzip.to_str().unwrap()], None);
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(text(&out).contains("not a .tar.gz"), "{}", text(&out));
    let out = cli.run(&["hosting", "uninstall", "cli-archive"], None);
    assert_eq!(code(&out), 0, "{}", text(&out));

    let out = cli.run(&["hosting", "list", "-o", "json"], None);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(serde_json::from_slice::<Value>(&out.stdout).unwrap(), serde_json::json!([]));
    drop(p);
}

#[actix_rt::test]
async fn keelctl_console_lists_the_entries_with_where_they_appear_and_their_owner() {
    let (mut p, cli) = platform_and_cli(&[]).await;
    let entries = r#"[{"name": "笔记", "name_en": "Notes", "type": 2, "path": "/plugins/notes/tab"},
        {"name": "文档", "name_en": "Docs", "type": 1, "path": "https://docs.example.com/", "extern": 1}]"#;
    p.start(AppSpec::bin("notes", "fake-plugin").env("FAKE_CONSOLE", entries)).await;
    let out = cli.run(&["plugins", "register", "notes"], None);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let out = cli.run(&["console"], None);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let table = String::from_utf8_lossy(&out.stdout).into_owned();
    let tab =
        table.lines().find(|l| l.starts_with("/plugins/notes/tab")).unwrap_or_else(|| panic!("{table}"));
    let tab = tab.split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(tab, "/plugins/notes/tab 2 plugin tab Notes (笔记) notes (plugin) ACTIVE");
    assert!(table.contains("1 top bar, external"), "{table}");
    let out = cli.run(&["console", "--type", "1", "--output", "json"], None);
    let listed: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed[0]["path"], "https://docs.example.com/");
    let out = cli.run(&["console", "--type", "4"], None);
    assert_ne!(code(&out), 0, "{}", text(&out));
}
