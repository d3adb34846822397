//! README.md's walkthrough, run as written: every command of its "Walkthrough" section, in
//! order, with the output it shows checked. When the README changes, this test follows it.
//!
//! The section's shape, which this test relies on:
//! - a ```` ```sh ```` block runs in bash (commands starting with `cargo` in the repository, the
//!   rest in a scratch directory holding a copy of `dapr.yaml`, `components/` and `config/` with
//!   the built binaries, the examples and the scripts linked in); `export` lines carry over to later blocks;
//! - a ```` ```sh terminal-N ```` block is a long-running command started "in terminal N";
//! - `<!-- walkthrough: stop terminal-N -->` is the reader pressing Ctrl-C in terminal N;
//! - a ```` ```text ```` block after a command is its expected output: every line must appear in
//!   some output line, `...` matching anything and runs of spaces matching any spacing. A
//!   command is retried until its output matches (the platform needs time to start, a failed
//!   plugin needs three polls to be marked unreachable).
//!
//! It uses the run file's fixed ports (keel's public port 8000, the sidecars' 35xx), like a
//! reader's machine would.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::symlink;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use keel_e2e::build::workspace_root;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

/// How long one command may keep failing before the walkthrough is declared broken (the first
/// start installs the Python example's dependencies).
const PATIENCE: Duration = Duration::from_secs(300);

#[derive(Debug)]
enum Step {
    Run { code: String, expect: Option<String> },
    Start { terminal: String, code: String },
    Stop { terminal: String },
}

/// The steps of README.md's "## Walkthrough" section.
fn steps(readme: &str) -> Vec<Step> {
    let start = readme.find("\n## Walkthrough").expect("README.md has a Walkthrough section");
    let section = &readme[start + 1..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |i| i + 3)];
    let mut steps = Vec::new();
    let mut lines = section.lines();
    while let Some(line) = lines.next() {
        if let Some(rest) = line.trim().strip_prefix("<!-- walkthrough: stop ") {
            steps.push(Step::Stop { terminal: rest.trim_end_matches("-->").trim().to_owned() });
        } else if let Some(info) = line.strip_prefix("```") {
            let body: Vec<&str> = lines.by_ref().take_while(|l| !l.starts_with("```")).collect();
            let body = body.join("\n");
            let mut words = info.split_whitespace();
            match (words.next(), words.next()) {
                (Some("sh"), Some(terminal)) => {
                    steps.push(Step::Start { terminal: terminal.to_owned(), code: body })
                }
                (Some("sh"), None) => steps.push(Step::Run { code: body, expect: None }),
                (Some("text"), _) => match steps.last_mut() {
                    Some(Step::Run { expect, .. }) => *expect = Some(body),
                    other => panic!("expected output after something that is not a command: {other:?}"),
                },
                _ => {}
            }
        }
    }
    steps
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether every expected line appears in some line of `output`.
fn matches(expect: &str, output: &str) -> bool {
    let lines: Vec<String> = output.lines().map(squash).collect();
    expect.lines().filter(|l| !l.trim().is_empty()).all(|want| {
        let parts: Vec<String> = squash(want).split("...").map(|p| p.trim().to_owned()).collect();
        lines.iter().any(|line| {
            let mut at = 0;
            parts.iter().all(|p| match line[at..].find(p.as_str()) {
                Some(i) => {
                    at += i + p.len();
                    true
                }
                None => false,
            })
        })
    })
}

struct Session {
    scratch: PathBuf,
    root: PathBuf,
    env: BTreeMap<String, String>,
    terminals: BTreeMap<String, Child>,
}

impl Session {
    fn bash(&self, code: &str) -> Command {
        let dir = if code.trim_start().starts_with("cargo ") { &self.root } else { &self.scratch };
        let mut cmd = Command::new("bash");
        cmd.arg("-c").arg(code).current_dir(dir).env("HOME", self.scratch.join("home")).envs(&self.env);
        cmd
    }

    fn remember_exports(&mut self, code: &str) {
        for line in code.lines() {
            if let Some((k, v)) = line.trim().strip_prefix("export ").and_then(|kv| kv.split_once('=')) {
                self.env
                    .insert(k.trim().to_owned(), v.trim().trim_matches('\'').trim_matches('"').to_owned());
            }
        }
    }

    fn run(&mut self, code: &str, expect: Option<&str>) {
        self.remember_exports(code);
        let started = Instant::now();
        loop {
            let out = self.bash(code).stdin(Stdio::null()).output().expect("run bash");
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            let ok = match expect {
                Some(e) => matches(e, &stdout),
                None => out.status.success(),
            };
            if ok {
                return;
            }
            // A terminal's command that ended on its own (a port taken, a crash) will not come
            // back: fail now, with its output, instead of waiting out the patience.
            let ended = self.terminals.iter_mut().find_map(|(name, child)| {
                child.try_wait().ok().flatten().map(|status| (name.clone(), status))
            });
            if let Some((name, status)) = ended {
                panic!(
                    "{name}'s command exited ({status}) while running:\n$ {code}\n{}",
                    self.terminal_logs()
                );
            }
            assert!(
                started.elapsed() < PATIENCE,
                "walkthrough step failed for {PATIENCE:?}:\n$ {code}\n--- stdout\n{stdout}\n--- stderr\n{}\n--- expected\n{}\n{}",
                String::from_utf8_lossy(&out.stderr),
                expect.unwrap_or("(exit 0)"),
                self.terminal_logs()
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    fn start(&mut self, terminal: &str, code: &str) {
        assert!(!self.terminals.contains_key(terminal), "{terminal} is already running something");
        self.remember_exports(code);
        let log = fs::File::options().create(true).append(true).open(self.log(terminal)).unwrap();
        let child = self
            .bash(code)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("start a terminal command");
        self.terminals.insert(terminal.to_owned(), child);
    }

    /// Ctrl-C: SIGINT to the terminal's foreground process group, then wait for it to end.
    fn stop(&mut self, terminal: &str) {
        let mut child =
            self.terminals.remove(terminal).unwrap_or_else(|| panic!("nothing runs in {terminal}"));
        killpg(Pid::from_raw(child.id() as i32), Signal::SIGINT).unwrap();
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                assert!(
                    status.success(),
                    "{terminal} exited with {status} after Ctrl-C\n{}",
                    self.terminal_logs()
                );
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{terminal} ignored Ctrl-C\n{}",
                self.terminal_logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log(&self, terminal: &str) -> PathBuf {
        self.scratch.join(format!("{terminal}.log"))
    }

    fn terminal_logs(&self) -> String {
        let mut out = String::new();
        for entry in fs::read_dir(&self.scratch).into_iter().flatten().flatten() {
            if entry.path().extension().is_some_and(|e| e == "log") {
                let text = fs::read_to_string(entry.path()).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(60).collect();
                out.push_str(&format!("--- {} (last lines)\n", entry.path().display()));
                out.extend(tail.into_iter().rev().map(|l| format!("{l}\n")));
            }
        }
        out
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        for child in self.terminals.values_mut() {
            let pid = child.id();
            let mut all = keel_e2e::platform::descendants(pid);
            all.push(pid as i32);
            let _ = killpg(Pid::from_raw(pid as i32), Signal::SIGINT);
            std::thread::sleep(Duration::from_secs(2));
            for p in all {
                let _ = killpg(Pid::from_raw(p), Signal::SIGKILL);
                let _ = nix::sys::signal::kill(Pid::from_raw(p), Signal::SIGKILL);
            }
            let _ = child.wait();
        }
    }
}

fn scratch_copy(root: &Path, dir: &Path) {
    fs::copy(root.join("dapr.yaml"), dir.join("dapr.yaml")).unwrap();
    for folder in ["components", "config"] {
        fs::create_dir(dir.join(folder)).unwrap();
        for entry in fs::read_dir(root.join(folder)).unwrap().flatten() {
            if entry.path().is_file() {
                fs::copy(entry.path(), dir.join(folder).join(entry.file_name())).unwrap();
            }
        }
    }
    symlink(keel_e2e::build::target_dir(), dir.join("target")).unwrap();
    symlink(root.join("examples"), dir.join("examples")).unwrap();
    symlink(root.join("scripts"), dir.join("scripts")).unwrap();
    fs::create_dir(dir.join("home")).unwrap();
}

#[test]
fn the_readme_walkthrough_works_as_written() {
    let root = workspace_root();
    let readme = fs::read_to_string(root.join("README.md")).unwrap();
    let steps = steps(&readme);
    assert!(steps.len() > 10, "the walkthrough lost its steps: {steps:?}");
    let dir = tempfile::tempdir().unwrap();
    scratch_copy(&root, dir.path());
    let mut session =
        Session { scratch: dir.path().to_owned(), root, env: BTreeMap::new(), terminals: BTreeMap::new() };
    for step in &steps {
        match step {
            Step::Run { code, expect } => session.run(code, expect.as_deref()),
            Step::Start { terminal, code } => session.start(terminal, code),
            Step::Stop { terminal } => session.stop(terminal),
        }
    }
}

#[test]
fn expected_output_matching_allows_elisions_and_spacing() {
    assert!(matches(
        "ID   STATUS ...\necho ACTIVE ...",
        "ID    STATUS  LAST\nauth ACTIVE x\necho  ACTIVE  y"
    ));
    assert!(matches(r#"{"a":1,...,"c":3}"#, r#"{"a":1,"b":2,"c":3}"#));
    assert!(!matches(r#"{"a":1,...,"c":4}"#, r#"{"a":1,"b":2,"c":3}"#));
    assert!(!matches("echo ACTIVE", "echo UNREACHABLE"));
}
