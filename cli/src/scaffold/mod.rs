//! `keelctl plugin new <id> --lang rust|python`: writes a working plugin from the templates
//! embedded in the binary (`cli/templates/`): the Rust one with the kit (`keel_sdk::plugin`), the
//! Python one with FastAPI and the Dapr SDK (like `examples/py-quotes`), each with its run line
//! (`dapr.yaml`), a README and a test. Both pass `keelctl plugin check` as written
//! (`tests/tests/plugin_new.rs`).

mod templates;

use std::path::{Path, PathBuf};

use keel_sdk::protocol::{parse_version, PluginId, KEEL_VERSION};
use serde::Serialize;

use crate::args::{Lang, Output};
use crate::error::CliError;
use templates::Template;

/// The keel-sdk of the checkout this keelctl was built from: the Rust template's default
/// dependency.
const BUILT_SDK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../sdk");

/// What `plugin new` was asked.
pub struct Options {
    pub id: String,
    pub lang: Lang,
    pub dir: Option<PathBuf>,
    pub sdk_path: Option<PathBuf>,
    pub app_port: u16,
    pub dapr_http_port: u16,
}

/// What was written, as `--output json` prints it.
#[derive(Debug, Serialize)]
pub struct Written {
    pub id: String,
    pub lang: &'static str,
    pub dir: String,
    pub files: Vec<&'static str>,
}

/// The values the templates' `{{...}}` placeholders take.
struct Values {
    id: String,
    keel_sdk: String,
    app_port: u16,
    dapr_port: u16,
}

/// Writes the plugin and says what to do next.
pub fn run(opts: Options, format: Output) -> Result<(), CliError> {
    let id = PluginId::parse_unreserved(&opts.id)
        .map_err(|e| CliError::Usage(format!("{e}: a plugin's id is its Dapr app-id")))?;
    if opts.lang == Lang::Rust && id.as_str().starts_with(|c: char| c.is_ascii_digit()) {
        return Err(CliError::Usage(format!(
            "{id:?} starts with a digit, which a Rust crate's name cannot: choose another id"
        )));
    }
    let dir = opts.dir.clone().unwrap_or_else(|| PathBuf::from(id.as_str()));
    ensure_empty(&dir)?;
    let keel_sdk = match opts.lang {
        Lang::Rust => sdk_path(opts.sdk_path.as_deref())?,
        Lang::Python => String::new(),
    };
    let values =
        Values { id: id.to_string(), keel_sdk, app_port: opts.app_port, dapr_port: opts.dapr_http_port };
    let set = templates::for_lang(opts.lang);
    for t in set {
        write(&dir, t, &render(t.text, &values))?;
    }
    let written = Written {
        id: id.to_string(),
        lang: templates::name(opts.lang),
        dir: dir.display().to_string(),
        files: set.iter().map(|t| t.path).collect(),
    };
    match format {
        Output::Json => crate::output::json(&written),
        Output::Table => print!("{}", next_steps(&written, opts.lang, &values)),
    }
    Ok(())
}

/// The directory must not exist, or be empty: nothing of the author's is overwritten.
fn ensure_empty(dir: &Path) -> Result<(), CliError> {
    match std::fs::read_dir(dir).map(|mut entries| entries.next().is_some()) {
        Ok(true) => {
            Err(CliError::Usage(format!("{} exists and is not empty: give another --dir", dir.display())))
        }
        Ok(false) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(CliError::Io { what: format!("read {}", dir.display()), source }),
    }
}

/// The keel-sdk path for `Cargo.toml`: `--sdk-path`, or the checkout keelctl was built from.
fn sdk_path(given: Option<&Path>) -> Result<String, CliError> {
    let path = given.map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from(BUILT_SDK));
    let path = path.canonicalize().ok().filter(|p| p.join("Cargo.toml").is_file()).ok_or_else(|| {
        CliError::Usage(format!(
            "no keel-sdk crate at {}: give the sdk/ folder of a Keel checkout with --sdk-path",
            path.display()
        ))
    })?;
    Ok(path.display().to_string())
}

/// `text` with its placeholders filled in.
fn render(text: &str, v: &Values) -> String {
    let platform = parse_version("keel_version", KEEL_VERSION)
        .map(|p| format!("{}.{}", p.major, p.minor))
        .unwrap_or_else(|_| KEEL_VERSION.to_owned());
    // The path goes into a TOML basic string.
    let sdk = v.keel_sdk.replace('\\', "\\\\").replace('"', "\\\"");
    text.replace("{{id}}", &v.id)
        .replace("{{crate}}", &v.id.replace('-', "_"))
        .replace("{{keel_sdk}}", &sdk)
        .replace("{{keel_version}}", &platform)
        .replace("{{app_port}}", &v.app_port.to_string())
        .replace("{{dapr_port}}", &v.dapr_port.to_string())
}

fn write(dir: &Path, t: &Template, text: &str) -> Result<(), CliError> {
    let path = dir.join(t.path);
    let io = |what: &str| {
        let what = format!("{what} {}", path.display());
        move |source| CliError::Io { what, source }
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io("create the folder of"))?;
    }
    std::fs::write(&path, text).map_err(io("write"))?;
    if t.executable {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .map_err(io("make executable"))?;
    }
    Ok(())
}

/// What was written and the commands that come next.
fn next_steps(w: &Written, lang: Lang, v: &Values) -> String {
    let (build, command) = match lang {
        Lang::Rust => ("cargo build && cargo test", format!("target/debug/{}", w.id)),
        Lang::Python => ("./run.sh test", "./run.sh".to_owned()),
    };
    format!(
        "wrote a {lang} plugin {id} in {dir}: {files}\n\nnext, in {dir}:\n  {build}\n  \
         dapr run -f dapr.yaml      (or the stand-in: <keel>/target/debug/sidecar run --app-id {id} \
         --app-port {app} --dapr-http-port {dapr} -- {command})\n  \
         keelctl plugin check http://127.0.0.1:{app} --app-id {id}\n  keelctl plugins register {id}\n",
        lang = w.lang,
        id = w.id,
        dir = w.dir,
        files = w.files.join(", "),
        app = v.app_port,
        dapr = v.dapr_port,
    )
}

#[cfg(test)]
mod tests;
