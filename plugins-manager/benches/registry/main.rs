//! The registry's performance (issue 3): register 1,000 plugins, then poll them every 5 s, and
//! report the time taken, the registry's CPU share and its resident memory.
//!
//! `cargo bench -p plugins-manager --bench registry` (about a minute; `-- --plugins N` and
//! `-- --poll-seconds S` change the size). The registry runs as its own process, built by cargo
//! with the bench profile; a fake sidecar in this process plays its Dapr sidecar and every plugin
//! (`fake_sidecar.rs`), so what is measured is the registry alone. Targets: registration under
//! 60 s; polling under 10% of one core and under 50 MB resident.

mod fake_sidecar;

use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpServer};
use futures_util::stream::{self, StreamExt};

struct Args {
    secrets: bool,
    plugins: usize,
    poll_seconds: u64,
    concurrency: usize,
}

fn args() -> Args {
    let mut a = Args {
        secrets: !std::env::args().any(|a| a == "--no-secrets"),
        plugins: 1000,
        poll_seconds: 30,
        concurrency: 50,
    };
    let argv: Vec<String> = std::env::args().collect();
    for pair in argv.windows(2) {
        match pair[0].as_str() {
            "--plugins" => a.plugins = pair[1].parse().unwrap_or(a.plugins),
            "--poll-seconds" => a.poll_seconds = pair[1].parse().unwrap_or(a.poll_seconds),
            "--concurrency" => a.concurrency = pair[1].parse().unwrap_or(a.concurrency),
            _ => {}
        }
    }
    a
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// utime + stime of `pid`, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let get = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    get(11) + get(12)
}

/// A `/proc/<pid>/status` field in kB.
fn status_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn clock_ticks_per_second() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100)
}

struct Registry(Child);

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[actix_web::main]
async fn main() {
    let args = args();
    let fake = web::Data::new(fake_sidecar::Fake::default());
    let fake_data = fake.clone();
    let server =
        HttpServer::new(move || App::new().app_data(fake_data.clone()).configure(fake_sidecar::configure))
            .workers(1)
            .disable_signals()
            .bind("127.0.0.1:0")
            .expect("bind the fake sidecar");
    let dapr_port = server.addrs()[0].port();
    actix_rt::spawn(server.run());

    let app_port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_plugins-manager"))
        .env("APP_PORT", app_port.to_string())
        .env("DAPR_HTTP_PORT", dapr_port.to_string())
        .env("KEEL_LOG", "warn")
        .env("KEEL_POLL_INTERVAL_MS", "5000")
        .stdin(Stdio::null())
        .spawn()
        .expect("start the registry");
    let registry = Registry(child);
    let pid = registry.0.id();
    let client = awc::Client::builder()
        .connector(awc::Connector::new().limit(0))
        .timeout(Duration::from_secs(60))
        .finish();
    let base = format!("http://127.0.0.1:{app_port}");
    let started = Instant::now();
    while !client.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
        assert!(started.elapsed() < Duration::from_secs(30), "the registry did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    eprintln!("registering {} plugins, {} at a time ...", args.plugins, args.concurrency);
    let started = Instant::now();
    let secrets = args.secrets;
    let failures: usize = stream::iter(0..args.plugins)
        .map(|i| {
            let (client, base) = (client.clone(), base.clone());
            async move {
                let mut body = serde_json::json!({"id": format!("bench-{i:04}")});
                if secrets {
                    body["secret"] = format!("bench-secret-{i:04}").into();
                }
                match client.post(format!("{base}/v1/plugins")).send_json(&body).await {
                    Ok(res) if res.status().as_u16() == 201 => 0,
                    Ok(res) => {
                        eprintln!("bench-{i:04}: HTTP {}", res.status());
                        1
                    }
                    Err(e) => {
                        eprintln!("bench-{i:04}: {e}");
                        1
                    }
                }
            }
        })
        .buffer_unordered(args.concurrency)
        .fold(0, |n, f| async move { n + f })
        .await;
    let registration = started.elapsed();
    let rss_after_registration = status_kb(pid, "VmRSS:");

    eprintln!("polling for {} s ...", args.poll_seconds);
    // Let the first full round after the registrations settle, then measure whole rounds.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let (ticks0, calls0, t0) = (cpu_ticks(pid), fake.status_calls.load(Ordering::Relaxed), Instant::now());
    let mut rss_max = 0;
    while t0.elapsed() < Duration::from_secs(args.poll_seconds) {
        rss_max = rss_max.max(status_kb(pid, "VmRSS:"));
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let elapsed = t0.elapsed().as_secs_f64();
    let cpu = (cpu_ticks(pid) - ticks0) as f64 / clock_ticks_per_second() as f64 / elapsed * 100.0;
    let polls = fake.status_calls.load(Ordering::Relaxed) - calls0;
    let hwm = status_kb(pid, "VmHWM:");

    println!("| measure | value | target |");
    println!("|---|---|---|");
    println!(
        "| register {} plugins ({} concurrent, {}) | {:.1} s, {} failed | < 60 s |",
        args.plugins,
        args.concurrency,
        if args.secrets { "with secrets" } else { "without secrets" },
        registration.as_secs_f64(),
        failures
    );
    println!(
        "| status polls answered while measuring | {polls} in {elapsed:.0} s | {} per 5 s |",
        args.plugins
    );
    println!("| registry CPU while polling every 5 s | {cpu:.1}% of one core | < 10% |");
    println!(
        "| registry resident memory while polling (max) | {:.1} MB | < 50 MB |",
        rss_max as f64 / 1024.0
    );
    println!(
        "| registry resident memory after registering / peak ever | {:.1} MB / {:.1} MB | |",
        rss_after_registration as f64 / 1024.0,
        hwm as f64 / 1024.0
    );
    drop(registry);
}
