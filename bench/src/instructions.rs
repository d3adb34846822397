//! `keel-bench instructions`: CPU per forwarded request, counted rather than timed. keel and
//! nginx (in keel's seat: the same request through the same sidecars) each run under valgrind's
//! callgrind; after a warm-up the counters are zeroed, a fixed number of requests is sent, and
//! the instructions the router executed are divided by them. The count does not depend on what
//! else the machine is doing, so it compares builds and routers where timed runs on a shared
//! core cannot (docs/benchmarks-cpu.md). The most expensive functions of keel's profile are
//! listed with it, which is where to look for the next saving. What callgrind cannot see, the
//! kernel's part (system calls and system time per request), is measured with both routers run
//! natively (`syscalls.rs`).
//!
//! `cargo run --release -p bench -- instructions [--smoke] [--requests 2000] [--out docs/benchmarks-cpu.md]`

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use keel_e2e::{free_port, AppSpec};

use crate::floors::{Floor, Stack};
use crate::load::{self, Load};
use crate::nginx::{Nginx, Upstreams};
use crate::scenario::{keel_child, start_platform_with, ADMIN_PASSWORD, LOAD_CPUS};
use crate::syscalls::{self, KernelSide};
use crate::{auth, procstat, report};

/// Settings of the instruction count.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// 50 requests: proves the measurement runs (used by the test suite).
    #[arg(long)]
    pub smoke: bool,
    /// Requests counted per router (after as many again to warm up).
    #[arg(long, default_value_t = 2000)]
    pub requests: u64,
    /// Connections the requests are sent on.
    #[arg(long, default_value_t = 8)]
    pub connections: u32,
    /// Functions of keel's profile listed in the report.
    #[arg(long, default_value_t = 25)]
    pub top: usize,
    /// Count this keel binary instead of the workspace's (an earlier build, to compare two
    /// versions of keel on the same requests).
    #[arg(long, value_name = "PATH")]
    pub keel: Option<PathBuf>,
    /// Count the floors too: the least actix-web/awc and hyper do to forward the same request
    /// from keel's seat (`keel-bench-seat`), to tell keel's own instructions from its stack's.
    #[arg(long)]
    pub floors: bool,
    /// Keep the callgrind files in this folder (for `callgrind_annotate --tree=caller` and the
    /// like) instead of a scratch folder removed at the end.
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
    /// Where to write the report.
    #[arg(long, default_value = "docs/benchmarks-cpu.md")]
    pub out: PathBuf,
}

/// The body every counted request carries (the 1 KiB of the router benchmark).
const BODY: usize = 1024;

/// One router's count.
struct Counted {
    name: &'static str,
    requests: u64,
    instructions: u64,
    /// The callgrind file the count was read from (for `callgrind_annotate`).
    file: PathBuf,
}

/// Runs the count for keel and nginx and writes the report.
pub fn main(args: Args) -> std::process::ExitCode {
    match actix_rt::System::new().block_on(run(args)) {
        Ok(path) => {
            eprintln!("report written to {}", path.display());
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("keel-bench instructions: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<PathBuf, String> {
    let found = Command::new("valgrind").arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        return Err("valgrind not found (Debian package valgrind; scripts/test-deps installs it)".into());
    }
    let valgrind = Path::new("valgrind");
    let root = keel_e2e::build::workspace_root();
    let oha = load::ensure_oha(&root)?;
    let requests = if args.smoke { 50 } else { args.requests };
    let scratch = tempfile::tempdir().map_err(|e| format!("a scratch folder: {e}"))?;
    let dir = match &args.keep {
        Some(keep) => {
            std::fs::create_dir_all(keep).map_err(|e| format!("create {}: {e}", keep.display()))?;
            std::path::absolute(keep).map_err(|e| format!("{}: {e}", keep.display()))?
        }
        None => scratch.path().to_path_buf(),
    };

    // The keel counted (the workspace's or `--keel`), natively for the kernel's part below.
    let mut native = AppSpec::keel().env("KEEL_LOG", "warn").sidecar_args(&["--max-body-size", "16Mi"]);
    if let Some(bin) = &args.keel {
        native.command[0] =
            std::path::absolute(bin).map_err(|e| format!("{}: {e}", bin.display()))?.display().to_string();
    }
    // keel under callgrind, counting nothing until told (the start-up is not a request's cost).
    let keel_out = dir.join("keel.callgrind");
    let mut keel = native.clone();
    keel.command.splice(0..0, callgrind(valgrind, &keel_out));
    let body = dir.join("body");
    std::fs::write(&body, vec![b'k'; BODY]).map_err(|e| format!("write body: {e}"))?;
    // `token` is the rig's: each rig (counted, then native) has its own auth.
    let send = |url: &str, token: &str, requests: u64| Load {
        url: url.to_owned(),
        headers: vec![format!("authorization: Bearer {token}")],
        body: body.clone(),
        rate: None,
        duration: Duration::ZERO,
        requests: Some(requests),
        connections: args.connections,
        finish_in_flight: false,
    };

    let rig = Rig::start(keel).await?;
    let keel_count =
        count("keel external", &oha, rig.keel_pid, &keel_out, || send(&rig.keel_url, &rig.token, requests))?;
    // nginx in keel's seat, one process (no master: callgrind then sees the worker itself).
    let nginx_out = dir.join("nginx.callgrind");
    let wrapper = callgrind(valgrind, &nginx_out);
    let nginx = Nginx::start_wrapped(&dir, free_port(), free_port(), &rig.upstreams, &wrapper)
        .map_err(|e| format!("nginx: {e}"))?;
    let seat_url = format!("http://127.0.0.1:{}/bench", nginx.seat_port);
    let nginx_count = count("nginx in keel's seat", &oha, nginx.pid(), &nginx_out, || {
        send(&seat_url, &rig.token, requests)
    })?;
    drop(nginx);
    let mut floors = Vec::new();
    if args.floors {
        for stack in Stack::ALL {
            let out = dir.join(format!("{}.callgrind", stack.arg()));
            let floor = Floor::start(stack, &callgrind(valgrind, &out), &rig.upstreams)?;
            floors.push(count(stack.name(), &oha, floor.pid(), &out, || {
                send(&floor.url(), &rig.token, requests)
            })?);
        }
    }
    drop(rig);

    // The kernel's part, which callgrind does not count: the same requests to both routers run
    // natively (nginx as master and worker, as it normally runs), timed and traced.
    let rig = Rig::start(native).await?;
    let keel_strace = dir.join("keel.strace");
    let keel_kernel = syscalls::measure("keel external", &oha, rig.keel_pid, &keel_strace, requests, |n| {
        send(&rig.keel_url, &rig.token, n)
    })?;
    let nginx =
        Nginx::start(&dir, free_port(), free_port(), &rig.upstreams).map_err(|e| format!("nginx: {e}"))?;
    let worker = procstat::children(nginx.pid()).into_iter().next().ok_or("nginx's worker not found")?;
    let seat_url = format!("http://127.0.0.1:{}/bench", nginx.seat_port);
    let nginx_strace = dir.join("nginx.strace");
    let nginx_kernel =
        syscalls::measure("nginx in keel's seat", &oha, worker, &nginx_strace, requests, |n| {
            send(&seat_url, &rig.token, n)
        })?;
    drop(nginx);
    let mut kernel = vec![keel_kernel, nginx_kernel];
    if args.floors {
        for stack in Stack::ALL {
            let floor = Floor::start(stack, &[], &rig.upstreams)?;
            let strace = dir.join(format!("{}.strace", stack.arg()));
            kernel.push(syscalls::measure(stack.name(), &oha, floor.pid(), &strace, requests, |n| {
                send(&floor.url(), &rig.token, n)
            })?);
        }
    }
    drop(rig);

    let top = annotate(&keel_count.file, args.top)?;
    let doc = render(&keel_count, &nginx_count, &floors, &kernel, &top, &args, requests);
    let out = if args.out.is_absolute() { args.out.clone() } else { root.join(&args.out) };
    std::fs::write(&out, doc).map_err(|e| format!("write {}: {e}", out.display()))?;
    Ok(out)
}

/// The router benchmark's rig with one plugin (echo) and `keel`, a token accepted at keel's
/// public port, and where nginx in keel's seat sends to.
struct Rig {
    /// Dropped last: it stops the processes.
    _platform: keel_e2e::Platform,
    keel_url: String,
    keel_pid: u32,
    token: String,
    upstreams: Upstreams,
}

impl Rig {
    async fn start(keel: AppSpec) -> Result<Self, String> {
        let platform = start_platform_with(1, keel).await?;
        let public = platform.app("keel").spec.env_value("KEEL_PUBLIC_LISTEN").unwrap_or_default().to_owned();
        let token = auth::token(&platform.dapr_url("bench-client"), ADMIN_PASSWORD).await?;
        let keel_url = format!("http://{public}/apis/echo/bench");
        auth::wait_accepted(&keel_url, &token).await?;
        let keel_pid = keel_child(platform.app("keel").pid())?;
        let upstreams = Upstreams {
            plugin_port: platform.app("echo").app_port,
            sidecar_port: platform.app("keel").dapr_port,
            app_id: "echo".into(),
        };
        Ok(Self { _platform: platform, keel_url, keel_pid, token, upstreams })
    }
}

/// valgrind's arguments: callgrind writing to `out`, instrumenting nothing until switched on
/// (the start-up runs at nearly native speed and is not counted).
fn callgrind(valgrind: &Path, out: &Path) -> Vec<String> {
    vec![
        valgrind.display().to_string(),
        "--tool=callgrind".into(),
        "--instr-atstart=no".into(),
        format!("--callgrind-out-file={}", out.display()),
    ]
}

/// Warms `pid` up with as many requests as are counted, then counts the instructions of
/// `requests` more. Every request must be answered 200, or the count is not of forwarding.
fn count(
    name: &'static str,
    oha: &Path,
    pid: u32,
    out: &Path,
    load: impl Fn() -> Load,
) -> Result<Counted, String> {
    control(pid, &["--instr=on"])?;
    let warm = load();
    let answered = load::run(oha, LOAD_CPUS, &warm)?;
    load::ok_only(name, &answered.statuses, warm.requests.unwrap_or(0))?;
    control(pid, &["--zero"])?;
    let counted = load();
    let answered = load::run(oha, LOAD_CPUS, &counted)?;
    control(pid, &["--dump"])?;
    let requests = counted.requests.unwrap_or(0);
    load::ok_only(name, &answered.statuses, requests)?;
    let file = last_dump(out)?;
    let instructions = totals(&file)?;
    if instructions == 0 {
        return Err(format!("{name}: callgrind counted no instructions ({})", file.display()));
    }
    Ok(Counted { name, requests, instructions, file })
}

/// `callgrind_control <args> <pid>`.
fn control(pid: u32, args: &[&str]) -> Result<(), String> {
    let status = Command::new("callgrind_control")
        .args(args)
        .arg(pid.to_string())
        .output()
        .map_err(|e| format!("run callgrind_control: {e}"))?;
    if !status.status.success() {
        return Err(format!(
            "callgrind_control {} {pid}: {}",
            args.join(" "),
            String::from_utf8_lossy(&status.stderr).trim()
        ));
    }
    Ok(())
}

/// The newest dump callgrind wrote next to `out` (`<out>.<n>` per requested dump).
fn last_dump(out: &Path) -> Result<PathBuf, String> {
    let dir = out.parent().ok_or("callgrind output has no folder")?;
    let stem = out.file_name().and_then(|n| n.to_str()).ok_or("callgrind output name")?;
    let mut dumps: Vec<(u32, PathBuf)> = std::fs::read_dir(dir)
        .map_err(|e| format!("read {}: {e}", dir.display()))?
        .filter_map(|e| {
            let path = e.ok()?.path();
            let n = path.file_name()?.to_str()?.strip_prefix(stem)?.strip_prefix('.')?.parse().ok()?;
            Some((n, path))
        })
        .collect();
    dumps.sort();
    dumps.pop().map(|(_, p)| p).ok_or_else(|| format!("callgrind wrote no dump next to {}", out.display()))
}

/// The instruction total of a callgrind file (`summary:` or `totals:`; the first event is `Ir`).
fn totals(file: &Path) -> Result<u64, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("read {}: {e}", file.display()))?;
    text.lines()
        .find_map(|l| l.strip_prefix("summary:").or_else(|| l.strip_prefix("totals:")))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| format!("{}: no summary line", file.display()))
}

/// The `top` functions of `file` by their own instructions, as `callgrind_annotate` lists them.
fn annotate(file: &Path, top: usize) -> Result<Vec<String>, String> {
    let out = Command::new("callgrind_annotate")
        .args(["--inclusive=no", "--threshold=100"])
        .arg(file)
        .output()
        .map_err(|e| format!("run callgrind_annotate: {e}"))?;
    if !out.status.success() {
        return Err(format!("callgrind_annotate: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    // After the header, one line per function: "<count> (<share>)  <file>:<function> [<object>]".
    Ok(text
        .lines()
        .filter(|l| l.trim_start().chars().next().is_some_and(|c| c.is_ascii_digit()) && l.contains('('))
        .filter(|l| !l.contains("PROGRAM TOTALS"))
        .take(top)
        .map(|l| l.trim().to_owned())
        .collect())
}

fn render(
    keel: &Counted,
    nginx: &Counted,
    floors: &[Counted],
    kernel: &[KernelSide],
    top: &[String],
    args: &Args,
    requests: u64,
) -> String {
    use std::fmt::Write as _;
    let per = |c: &Counted| c.instructions as f64 / c.requests as f64;
    let mut out = String::new();
    let _ = writeln!(out, "# CPU per request: instructions\n");
    let smoke = if args.smoke { " --smoke" } else { "" };
    let smoke = match &args.keel {
        Some(bin) => format!("{smoke} --keel {}", bin.display()),
        None => smoke.to_owned(),
    };
    let smoke = if args.floors { format!("{smoke} --floors") } else { smoke };
    let _ = writeln!(
        out,
        "Produced by `cargo run --release -p bench -- instructions{smoke} --requests {} --connections {}` on {}.\n",
        args.requests,
        args.connections,
        report::utc_now()
    );
    let _ = writeln!(
        out,
        "Each router ran under `valgrind --tool=callgrind` in the router benchmark's rig (the echo plugin, \
         its sidecar, keel's sidecar, auth). {requests} requests were sent to warm it up, then the \
         counters were switched on for {requests} more (POST, {BODY}-byte body, a bearer token; \
         {} connections, oha), all answered 200. The count is the router process's own instructions \
         (its sidecars and the plugin are not in it); it does not depend on the machine's load.\n",
        args.connections
    );
    let _ = writeln!(out, "| router | requests counted | instructions | instructions per request |");
    let _ = writeln!(out, "|---|---:|---:|---:|");
    for c in [keel, nginx].into_iter().chain(floors) {
        let _ = writeln!(out, "| {} | {} | {} | {:.0} |", c.name, c.requests, c.instructions, per(c));
    }
    let _ = writeln!(
        out,
        "\nkeel executes {:.2}× nginx's instructions per forwarded request.\n",
        per(keel) / per(nginx)
    );
    if !floors.is_empty() {
        let _ = writeln!(
            out,
            "The rows after nginx's are floors (`keel-bench-seat`): the same request forwarded by \
             each stack with nothing else done (no token check, routing or header rules; one \
             worker, keel's allocator). No router on that stack can count fewer; keel's own work \
             is what it counts above its stack's floor.\n"
        );
    }
    render_kernel(&mut out, kernel, args.connections);
    let _ = writeln!(out, "## Where keel's instructions go\n");
    let _ = writeln!(
        out,
        "The {} functions with the most instructions of their own (`callgrind_annotate --inclusive=no`), over \
         the counted requests:\n",
        top.len()
    );
    let _ = writeln!(out, "```text");
    for line in top {
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(out, "```");
    out
}

/// The kernel's part: system calls per request by kind, and CPU per request in user and system
/// mode.
fn render_kernel(out: &mut String, kernel: &[KernelSide], connections: u32) {
    use std::fmt::Write as _;
    let Some(first) = kernel.first() else { return };
    let _ = writeln!(out, "## The kernel's part\n");
    let _ = writeln!(
        out,
        "callgrind counts what a process executes itself, not what the kernel does for it. So each \
         router also ran natively in the same rig (nginx as master and worker): after a warm-up, \
         {} requests were timed (user and system CPU time from `/proc/<pid>/stat`; timed, so it \
         depends on the machine, unlike the counts) and {} more were traced with `strace -c -f` \
         (system calls counted; strace slows them, so they are not timed), {connections} \
         connections as above.\n",
        first.timed, first.requests
    );
    let _ = writeln!(
        out,
        "| router | system calls per request | reads | writes | epoll_wait | other | user CPU µs per request | system CPU µs per request |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|");
    const READS: &[&str] = &["read", "readv", "recvfrom", "recvmsg"];
    const WRITES: &[&str] = &["write", "writev", "sendto", "sendmsg"];
    for k in kernel {
        let (reads, writes, waits) = (k.of(READS), k.of(WRITES), k.of(&["epoll_wait"]));
        let us = |s: f64| s * 1e6 / k.timed as f64;
        let _ = writeln!(
            out,
            "| {} | {:.2} | {reads:.2} | {writes:.2} | {waits:.2} | {:.2} | {:.1} | {:.1} |",
            k.name,
            k.per_request(),
            k.per_request() - reads - writes - waits,
            us(k.user_seconds),
            us(k.system_seconds)
        );
    }
    let _ = writeln!(out, "\nEvery system call counted, per router:\n");
    for k in kernel {
        let all: Vec<String> = k.calls.iter().map(|(n, c)| format!("{n} {c}")).collect();
        let _ = writeln!(out, "- {}: {}", k.name, all.join(", "));
    }
    let _ = writeln!(out);
}
