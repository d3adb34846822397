//! `keelctl hosting ...`: hosted web services (app-id `hosting`, `docs/hosting.md`) through
//! keel, read as [`keel_sdk::management::hosting`]'s records.

use std::path::{Path, PathBuf};

use awc::http::Method;
use keel_sdk::management::hosting::{ServiceAnswer, ServiceList, ServiceView};
use keel_sdk::protocol::errors::Code;
use keel_sdk::protocol::HOSTING_APP_ID;
use serde::Serialize;

use crate::api::{Api, Request};
use crate::args::{HostingAction, Output};
use crate::error::CliError;
use crate::output::{self, age, now_ms, or_dash};

/// The two bytes every gzip stream starts with.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

pub async fn run(api: &Api, format: Output, action: HostingAction) -> Result<(), CliError> {
    match action {
        HostingAction::List => {
            let list: ServiceList = api.send(Request::get(HOSTING_APP_ID, &["v1", "services"])).await?;
            output::list(format, &list.services, LIST_HEADERS, |s| list_row(s, now_ms()));
        }
        HostingAction::Get { app_id } => {
            let one: ServiceAnswer = api
                .send(Request::get(HOSTING_APP_ID, &["v1", "services", &app_id]))
                .await
                .map_err(not_found)?;
            output::record(format, &one.service, |s| fields(s, now_ms()));
        }
        HostingAction::Install { bundle } => {
            let archive = pack(bundle).await?;
            eprintln!("uploading the bundle ({} bytes) ...", archive.len());
            let req = Request::new(Method::POST, HOSTING_APP_ID, &["v1", "services"])
                .bytes(archive, "application/gzip");
            let one: ServiceAnswer = api.send(req).await?;
            eprintln!(
                "{} {} is {}; `keelctl hosting get {}` shows how it goes",
                one.service.app_id, one.service.version, one.service.status, one.service.app_id
            );
            output::record(format, &one.service, |s| fields(s, now_ms()));
        }
        HostingAction::Uninstall { app_id } => {
            let req = Request::new(Method::DELETE, HOSTING_APP_ID, &["v1", "services", &app_id]);
            api.send::<ServiceAnswer>(req).await.map_err(not_found)?;
            eprintln!("uninstalled {app_id}");
        }
        HostingAction::Restart { app_id } => {
            let req = Request::new(Method::POST, HOSTING_APP_ID, &["v1", "services", &app_id, "restart"]);
            let one: ServiceAnswer = api.send(req).await.map_err(not_found)?;
            output::record(format, &one.service, |s| fields(s, now_ms()));
        }
        HostingAction::Logs { app_id, tail, follow, nohup } => {
            let query = LogsQuery { tail, follow, source: if nohup { "nohup" } else { "output" } };
            let req = Request::get(HOSTING_APP_ID, &["v1", "services", &app_id, "logs"]).query(&query);
            api.stream_to(req, &mut std::io::stdout()).await.map_err(not_found)?;
        }
    }
    Ok(())
}

#[derive(Serialize)]
struct LogsQuery {
    tail: usize,
    follow: bool,
    source: &'static str,
}

fn not_found(e: CliError) -> CliError {
    e.advise(Code::NotFound, "keelctl hosting list", || {
        "`keelctl hosting list` shows the installed services".into()
    })
}

/// The bundle as a `.tar.gz`: an archive file as it is, a folder packed as `tar czf` would
/// (links followed, the folder's name as the top entry).
async fn pack(path: PathBuf) -> Result<Vec<u8>, CliError> {
    tokio::task::spawn_blocking(move || pack_blocking(&path))
        .await
        .map_err(|e| CliError::Usage(format!("packing the bundle failed: {e}")))?
}

fn pack_blocking(path: &Path) -> Result<Vec<u8>, CliError> {
    let io = |what: String| move |source| CliError::Io { what, source };
    let meta = std::fs::metadata(path).map_err(io(format!("read {}", path.display())))?;
    if meta.is_file() {
        let bytes = std::fs::read(path).map_err(io(format!("read {}", path.display())))?;
        if !bytes.starts_with(&GZIP_MAGIC) {
            return Err(CliError::Usage(format!(
                "{} is not a .tar.gz archive; give the bundle's folder or `tar czf bundle.tar.gz <folder>`",
                path.display()
            )));
        }
        return Ok(bytes);
    }
    if !path.join("plugin.yaml").is_file() {
        return Err(CliError::Usage(format!(
            "{} holds no plugin.yaml: a bundle folder holds plugin.yaml and workspace/",
            path.display()
        )));
    }
    let name = path
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_owned()))
        .unwrap_or_else(|| "bundle".into());
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    tar.follow_symlinks(true);
    tar.append_dir_all(Path::new(&name), path)
        .and_then(|()| tar.into_inner())
        .and_then(|gz| gz.finish())
        .map_err(io(format!("pack {}", path.display())))
}

// === what is printed ===

const LIST_HEADERS: &[&str] = &["APP ID", "STATUS", "VERSION", "ROOT", "OPEN", "RESTARTS", "LAST EXIT"];

fn list_row(s: &ServiceView, now: u64) -> Vec<String> {
    vec![
        s.app_id.clone(),
        s.status.to_string(),
        s.version.clone(),
        format!("/plugin_service/{}/", s.root_route),
        if s.is_open { "yes" } else { "no" }.into(),
        s.restarts.to_string(),
        last_exit(s, now),
    ]
}

fn last_exit(s: &ServiceView, now: u64) -> String {
    or_dash(s.last_exit.as_ref().map(|e| format!("{} ({})", e.reason, age(e.at_ms, now))).unwrap_or_default())
}

fn fields(s: &ServiceView, now: u64) -> Vec<(&'static str, String)> {
    let mut f = vec![
        ("app_id", s.app_id.clone()),
        ("name", s.name.clone()),
        ("version", s.version.clone()),
        ("status", s.status.to_string()),
        ("route", format!("/plugin_service/{}/", s.root_route)),
        ("is_open", s.is_open.to_string()),
        ("port", or_dash(s.port.map(|p| p.to_string()).unwrap_or_default())),
        ("pid", or_dash(s.pid.map(|p| p.to_string()).unwrap_or_default())),
        ("restarts", s.restarts.to_string()),
        ("last_exit", last_exit(s, now)),
        ("installed", age(s.installed_at_ms, now)),
    ];
    if let Some(u) = &s.upgrading {
        f.push(("upgrading", format!("to {} ({})", u.version, u.status)));
    }
    if let Some(e) = &s.last_upgrade_error {
        f.push(("last_upgrade_error", e.clone()));
    }
    f
}
