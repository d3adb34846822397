//! The templates, embedded in the binary: `keelctl plugin new` needs no checkout to write a
//! Python plugin (a Rust one needs keel-sdk's source to build against).

use crate::args::Lang;

/// One file of a template.
pub struct Template {
    /// Where it goes, relative to the plugin's folder.
    pub path: &'static str,
    /// Its text, with `{{...}}` placeholders.
    pub text: &'static str,
    /// Whether it is made executable (a start script).
    pub executable: bool,
}

macro_rules! file {
    ($lang:literal, $src:literal => $path:literal) => {
        Template {
            path: $path,
            text: include_str!(concat!("../../templates/", $lang, "/", $src)),
            executable: false,
        }
    };
    ($lang:literal, $src:literal => $path:literal, executable) => {
        Template {
            path: $path,
            text: include_str!(concat!("../../templates/", $lang, "/", $src)),
            executable: true,
        }
    };
}

const RUST: &[Template] = &[
    file!("rust", "Cargo.toml.tmpl" => "Cargo.toml"),
    file!("rust", "src/lib.rs" => "src/lib.rs"),
    file!("rust", "src/main.rs" => "src/main.rs"),
    file!("rust", "tests/protocol.rs" => "tests/protocol.rs"),
    file!("rust", "dapr.yaml" => "dapr.yaml"),
    file!("rust", "README.md" => "README.md"),
    file!("rust", "gitignore" => ".gitignore"),
];

const PYTHON: &[Template] = &[
    file!("python", "app.py" => "app.py"),
    file!("python", "requirements.txt" => "requirements.txt"),
    file!("python", "run.sh" => "run.sh", executable),
    file!("python", "test_app.py" => "test_app.py"),
    file!("python", "dapr.yaml" => "dapr.yaml"),
    file!("python", "README.md" => "README.md"),
    file!("python", "gitignore" => ".gitignore"),
];

/// The files of `lang`'s template.
pub fn for_lang(lang: Lang) -> &'static [Template] {
    match lang {
        Lang::Rust => RUST,
        Lang::Python => PYTHON,
    }
}

/// The language's name, as `--lang` takes it.
pub fn name(lang: Lang) -> &'static str {
    match lang {
        Lang::Rust => "rust",
        Lang::Python => "python",
    }
}
