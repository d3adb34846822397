//! `keelctl` against a running platform (keel's public port, auth, the registry): what a script
//! relies on — exit codes, JSON output, the owner-only token file — and readable errors.

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output};
use std::time::Duration;

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
        let mut cmd = Command::new(bin_path("keelctl"));
        cmd.args(["--url", &self.url]).args(args).env("HOME", self.home.path()).env_remove("XDG_CONFIG_HOME");
        cmd.env_remove("KEEL_PASSWORD");
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

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
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

    // Not found: 5. Conflict (a core service cannot be unregistered): 4 or 6 per the registry's
    // refusal (403 for core services). Unreachable plugin on registration: 7.
    let out = cli.run(&["plugins", "get", "nope"], None);
    assert_eq!(code(&out), 5, "{}", text(&out));
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

    // Usage errors: 2.
    let out = cli.run(&["plugins", "frobnicate"], None);
    assert_eq!(code(&out), 2, "{}", text(&out));
}
