//! auth in the benchmark: a token for the external path, the password grant's latency, and the
//! same under a password-guessing attack (how fast one client can really try passwords, and what
//! a normal login from elsewhere costs meanwhile).

use std::time::Duration;

use keel_e2e::Platform;

use crate::load::{self, Load, Measured};

/// Logins per second in the password-grant measurement.
pub const GRANT_RATE: u32 = 20;

fn form(password: &str) -> String {
    format!("grant_type=password&username=admin&password={password}")
}

/// The attacker's address and the real user's, as keel would pass them (`x-forwarded-for`).
const ATTACKER: &str = "203.0.113.7";
const ELSEWHERE: &str = "198.51.100.2";

/// What the guessing attack measured: the attacker's run, and the real user's logins meanwhile.
pub struct UnderAttack {
    /// The attacker's run; its `rps` is the rate of *real tries* (answers other than 429).
    pub guessing: Measured,
    /// Normal logins at [`GRANT_RATE`] from another address during the attack.
    pub login: Measured,
}

/// One client guessing `admin`'s password as fast as it can (8 connections, no rate limit) from
/// one address through keel's sidecar (so its `x-forwarded-for` is believed, as keel's is),
/// while the real admin logs in at [`GRANT_RATE`] from another address, for `seconds`.
pub async fn measure_guessing(
    oha: &std::path::Path,
    cpus: &str,
    platform: &Platform,
    password: &str,
    seconds: u64,
) -> Result<UnderAttack, String> {
    let url = format!("{}/v1.0/invoke/auth/method/v1/oauth/token", platform.dapr_url("keel"));
    let duration = Duration::from_secs(seconds.max(2));
    let (wrong, right) = (platform.dir().join("guess-form"), platform.dir().join("login-form"));
    std::fs::write(&wrong, form("not-the-password")).map_err(|e| e.to_string())?;
    std::fs::write(&right, form(password)).map_err(|e| e.to_string())?;
    let load = |body, from: &str, rate| Load {
        url: url.clone(),
        headers: vec![
            "content-type: application/x-www-form-urlencoded".into(),
            format!("x-forwarded-for: {from}"),
        ],
        body,
        rate,
        duration,
        requests: None,
        connections: 8,
        finish_in_flight: false,
    };
    let attack = load(wrong, ATTACKER, None);
    let (oha_attack, cpus_attack) = (oha.to_path_buf(), cpus.to_owned());
    let attacker = std::thread::spawn(move || load::run(&oha_attack, &cpus_attack, &attack));
    let login = load::run(oha, cpus, &load(right, ELSEWHERE, Some(GRANT_RATE)))?;
    let mut guessing = attacker.join().map_err(|_| "the attacking load panicked".to_owned())??;
    let answered: u64 = guessing.statuses.values().sum();
    let tries = answered - guessing.statuses.get(&429).copied().unwrap_or(0);
    guessing.rps = tries as f64 / duration.as_secs_f64();
    Ok(UnderAttack { guessing, login })
}

/// An access token for the super-admin, from auth through `sidecar` (retried while auth starts).
pub async fn token(sidecar: &str, password: &str) -> Result<String, String> {
    let http = awc::Client::builder().timeout(Duration::from_secs(10)).finish();
    let url = format!("{sidecar}/v1.0/invoke/auth/method/v1/oauth/token");
    let mut last = String::new();
    for _ in 0..100 {
        let sent = http
            .post(&url)
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .send_body(form(password))
            .await;
        match sent {
            Ok(mut res) if res.status().is_success() => {
                let v: serde_json::Value = res.json().await.map_err(|e| e.to_string())?;
                return v["access_token"]
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| "no access_token".to_owned());
            }
            Ok(res) => last = format!("HTTP {}", res.status()),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(format!("no token from auth: {last}"))
}

/// Waits until keel's public port accepts `token` (keel fetches auth's keys on its own timer).
pub async fn wait_accepted(url: &str, token: &str) -> Result<(), String> {
    let http = awc::Client::builder().timeout(Duration::from_secs(5)).finish();
    for _ in 0..150 {
        if let Ok(res) =
            http.get(url).insert_header(("authorization", format!("Bearer {token}"))).send().await
        {
            if res.status().is_success() {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(format!("keel's public port never accepted auth's token at {url}"))
}

/// The password grant at [`GRANT_RATE`] logins/s for `seconds`, through the client's sidecar.
pub async fn measure_password_grant(
    oha: &std::path::Path,
    cpus: &str,
    platform: &Platform,
    password: &str,
    seconds: u64,
) -> Result<Measured, String> {
    let body = platform.dir().join("grant-form");
    std::fs::write(&body, form(password)).map_err(|e| e.to_string())?;
    load::run(
        oha,
        cpus,
        &Load {
            url: format!("{}/v1.0/invoke/auth/method/v1/oauth/token", platform.dapr_url("bench-client")),
            headers: vec!["content-type: application/x-www-form-urlencoded".into()],
            body,
            rate: Some(GRANT_RATE),
            duration: Duration::from_secs(seconds.max(2)),
            requests: None,
            connections: 8,
            finish_in_flight: false,
        },
    )
}
