//! Real Redis and PostgreSQL servers for tests, from Debian's `redis-server` and `postgresql`
//! packages (`scripts/test-deps` installs them): each one on a free loopback port, with its data
//! in a temporary folder, owned by the test and stopped and removed when dropped.
//!
//! A test never passes because a server is missing: when one cannot be found or started, the
//! helper panics saying why (and what to install).
//!
//! PostgreSQL refuses to run as root, and test machines run the suite as root: there `initdb` and
//! `postgres` run as `nobody` through `setpriv` (util-linux, on every Debian machine), with the
//! data folder handed to that user.
//!
//! # How to use
//!
//! ```no_run
//! let redis = keel_e2e::servers::Redis::start();
//! let yaml = format!("redisHost: {}", redis.host());
//! let pg = keel_e2e::servers::Postgres::start();
//! let conn = pg.connection_string(); // host=127.0.0.1 port=... user=postgres ...
//! ```

use crate::ports::free_port;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a server may take to accept connections.
const START_LIMIT: Duration = Duration::from_secs(30);

/// The unprivileged user PostgreSQL runs as when the tests run as root.
const NOBODY: u32 = 65_534;

/// A running `redis-server`.
pub struct Redis {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

/// A running PostgreSQL cluster (superuser `postgres`, trust authentication on 127.0.0.1).
pub struct Postgres {
    child: Child,
    port: u16,
    bin: PathBuf,
    _dir: tempfile::TempDir,
}

/// `name` on the PATH or in one of `dirs` (the newest match of a glob-free list, first wins).
fn find(name: &str, dirs: &[PathBuf]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).chain(dirs.iter().cloned()).map(|d| d.join(name)).find(|p| p.is_file())
}

/// Debian's PostgreSQL binaries: `/usr/lib/postgresql/<version>/bin`, newest version first, after
/// the PATH (where a `postgres` there comes with its `initdb`).
fn postgres_bin() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .collect();
    versions.sort_by_key(|v| std::cmp::Reverse(v.0));
    let dirs: Vec<PathBuf> = versions.into_iter().map(|(_, d)| d).collect();
    let postgres = find("postgres", &dirs).unwrap_or_else(|| {
        panic!("PostgreSQL not found (no `postgres` on the PATH or in /usr/lib/postgresql/*/bin): run scripts/test-deps, or apt-get install postgresql")
    });
    let bin = std::fs::canonicalize(&postgres).unwrap_or(postgres).parent().expect("a bin folder").to_owned();
    assert!(bin.join("initdb").is_file(), "{} has postgres but no initdb", bin.display());
    bin
}

/// Waits until `port` accepts, or panics with what the server said.
fn wait_accepting(port: u16, child: &mut Child, what: &str, log: &Path) {
    let started = Instant::now();
    loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            let out = std::fs::read_to_string(log).unwrap_or_default();
            panic!("{what} exited ({status}) before accepting connections on port {port}:\n{out}");
        }
        if started.elapsed() > START_LIMIT {
            let out = std::fs::read_to_string(log).unwrap_or_default();
            panic!("{what} did not accept connections on port {port} within {START_LIMIT:?}:\n{out}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn log_file(dir: &Path) -> (std::fs::File, PathBuf) {
    let path = dir.join("server.log");
    let file = std::fs::File::create(&path).expect("create the server log");
    (file, path)
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    // /proc/self belongs to the process's effective user.
    std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}

// === impl Redis ===

impl Redis {
    /// Starts `redis-server` on a free port, no persistence, its folder a temporary one.
    pub fn start() -> Redis {
        let bin = find("redis-server", &[PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin")]).unwrap_or_else(|| {
            panic!("redis-server not found on the PATH or in /usr/bin: run scripts/test-deps, or apt-get install redis-server")
        });
        let dir = tempfile::tempdir().expect("a temporary folder");
        let (log, log_path) = log_file(dir.path());
        let port = free_port();
        let mut child = Command::new(&bin)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .args(["--daemonize", "no", "--protected-mode", "yes"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        wait_accepting(port, &mut child, "redis-server", &log_path);
        Redis { child, port, _dir: dir }
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:<port>`, a `redisHost` value.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Runs `redis-cli` against it and returns its output (raw mode).
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "--raw"])
            .args(args)
            .output()
            .expect("run redis-cli (Debian package redis-tools)");
        assert!(out.status.success(), "redis-cli {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// === impl Postgres ===

impl Postgres {
    /// `initdb` in a temporary folder, then `postgres` on a free port (as `nobody` under root).
    pub fn start() -> Postgres {
        let bin = postgres_bin();
        let dir = tempfile::tempdir().expect("a temporary folder");
        let as_nobody = is_root();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).expect("create the data folder");
        if as_nobody {
            for p in [dir.path(), data.as_path()] {
                std::os::unix::fs::chown(p, Some(NOBODY), Some(NOBODY)).expect("hand the folder to nobody");
            }
        }
        let (log, log_path) = log_file(dir.path());
        if as_nobody {
            std::os::unix::fs::chown(&log_path, Some(NOBODY), Some(NOBODY)).expect("hand the log to nobody");
        }
        let command = |program: &str| {
            let mut c = if as_nobody {
                let mut c = Command::new("setpriv");
                c.args([
                    "--reuid",
                    &NOBODY.to_string(),
                    "--regid",
                    &NOBODY.to_string(),
                    "--clear-groups",
                    "--",
                ]);
                c.arg(bin.join(program));
                c
            } else {
                Command::new(bin.join(program))
            };
            c.env("LC_ALL", "C").env_remove("PGDATA").current_dir(dir.path());
            c
        };
        let init = command("initdb")
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
            .output()
            .unwrap_or_else(|e| panic!("cannot run initdb (setpriv needed as root): {e}"));
        assert!(
            init.status.success(),
            "initdb failed: {}{}",
            String::from_utf8_lossy(&init.stdout),
            String::from_utf8_lossy(&init.stderr)
        );
        let port = free_port();
        let mut child = command("postgres")
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
            .args(["-c", "synchronous_commit=off", "-c", "full_page_writes=off"])
            .arg("-k")
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start postgres: {e}"));
        wait_accepting(port, &mut child, "postgres", &log_path);
        let pg = Postgres { child, port, bin, _dir: dir };
        // Accepting is not yet ready: wait until a query answers.
        let started = Instant::now();
        while pg.try_psql("SELECT 1").is_err() {
            assert!(started.elapsed() < START_LIMIT, "postgres on port {port} never answered a query");
            std::thread::sleep(Duration::from_millis(50));
        }
        pg
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A `connectionString` for the `postgres` database.
    pub fn connection_string(&self) -> String {
        format!("host=127.0.0.1 port={} user=postgres database=postgres sslmode=disable", self.port)
    }

    fn try_psql(&self, sql: &str) -> Result<String, String> {
        let out = Command::new(self.bin.join("psql"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "postgres", "-d", "postgres"])
            .args(["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// Runs `sql` with `psql` (unaligned, tuples only) and returns its output.
    pub fn psql(&self, sql: &str) -> String {
        self.try_psql(sql).unwrap_or_else(|e| panic!("psql {sql:?}: {e}"))
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // SIGINT is PostgreSQL's fast shutdown; the child is setpriv's exec, i.e. postgres itself.
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
