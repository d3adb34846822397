use super::*;

fn values() -> Values {
    Values { id: "acme-mailer".into(), keel_sdk: "/src/keel/sdk".into(), app_port: 3120, dapr_port: 3520 }
}

#[test]
fn every_placeholder_is_filled() {
    for lang in [Lang::Rust, Lang::Python] {
        for t in templates::for_lang(lang) {
            let text = render(t.text, &values());
            assert!(!text.contains("{{"), "{} of {}: {text}", t.path, templates::name(lang));
        }
    }
    let main = render(templates::for_lang(Lang::Rust)[2].text, &values());
    assert!(main.contains("acme_mailer::plugin()"), "{main}");
    let cargo = render(templates::for_lang(Lang::Rust)[0].text, &values());
    assert!(
        cargo.contains("name = \"acme-mailer\"") && cargo.contains("path = \"/src/keel/sdk\""),
        "{cargo}"
    );
}

#[test]
fn the_python_template_pins_what_py_quotes_pins() {
    // Same pins as the example, so one virtualenv serves both and they are upgraded together.
    let template = templates::for_lang(Lang::Python).iter().find(|t| t.path == "requirements.txt").unwrap();
    assert_eq!(template.text, include_str!("../../../examples/py-quotes/requirements.txt"));
}

#[test]
fn ids_and_folders_are_checked_before_anything_is_written() {
    let dir = tempfile_dir();
    let opts = |id: &str, lang| Options {
        id: id.into(),
        lang,
        dir: Some(dir.join(id)),
        sdk_path: None,
        app_port: 3120,
        dapr_http_port: 3520,
    };
    for (id, lang) in [("Bad_Id", Lang::Python), ("auth", Lang::Python), ("9lives", Lang::Rust)] {
        let e = run(opts(id, lang), Output::Json).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{id}: {e}");
        assert!(!dir.join(id).exists());
    }
    std::fs::create_dir_all(dir.join("taken")).unwrap();
    std::fs::write(dir.join("taken/keep.txt"), "mine").unwrap();
    let e = run(opts("taken", Lang::Python), Output::Json).unwrap_err();
    assert!(e.to_string().contains("not empty"), "{e}");
    run(opts("fresh", Lang::Python), Output::Json).unwrap();
    assert!(dir.join("fresh/app.py").is_file());
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(dir.join("fresh/run.sh")).unwrap().permissions(),
    );
    assert_eq!(mode & 0o111, 0o111);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A fresh folder under the system's temporary directory.
fn tempfile_dir() -> PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    std::env::temp_dir().join(format!("keelctl-new-{}-{nanos}", std::process::id()))
}
