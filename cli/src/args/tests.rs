use clap::{CommandFactory, Parser};

use super::*;

#[test]
fn urls_are_checked_and_say_what_to_type_instead() {
    assert_eq!(KeelUrl::parse("http://127.0.0.1:8000/").unwrap().as_str(), "http://127.0.0.1:8000");
    assert_eq!(
        KeelUrl::parse("https://keel.example.com/edge").unwrap().as_str(),
        "https://keel.example.com/edge"
    );
    assert_eq!(KeelUrl::parse("http://[::1]:8000").unwrap().as_str(), "http://[::1]:8000");
    let err = |s: &str| KeelUrl::parse(s).unwrap_err();
    assert!(
        err("localhost:8000").contains("did you mean http://localhost:8000"),
        "{}",
        err("localhost:8000")
    );
    assert!(
        err("127.0.0.1:8000").contains("did you mean http://127.0.0.1:8000"),
        "{}",
        err("127.0.0.1:8000")
    );
    assert!(err("ftp://keel").contains("http:// or https://"));
    assert!(err("http://").contains("not a URL") || err("http://").contains("no host"), "{}", err("http://"));
    assert!(err("http://a b").contains("not a URL"));
    assert!(err("http://admin:pw@keel:8000").contains("keelctl login"));
    assert!(err("http://keel:8000/?x=1").contains("no query"));
    let apis = err("http://127.0.0.1:8000/apis/plugins");
    assert!(apis.contains("base URL (e.g. http://127.0.0.1:8000)"), "{apis}");
    assert!(err("http://127.0.0.1:8000/apis").contains("adds /apis"));
}

#[test]
fn a_malformed_url_is_a_usage_error() {
    let e = Cli::try_parse_from(["keelctl", "--url", "localhost:8000", "status"]).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(e.to_string().contains("did you mean http://localhost:8000"), "{e}");
}

#[test]
fn every_argument_and_command_is_described() {
    let mut cli = Cli::command();
    cli.build();
    fn walk(cmd: &clap::Command, path: &str) {
        for arg in cmd.get_arguments() {
            if matches!(arg.get_id().as_str(), "help" | "version") {
                continue;
            }
            assert!(arg.get_help().is_some(), "{path} {} has no help", arg.get_id());
        }
        for sub in cmd.get_subcommands() {
            if sub.get_name() == "help" {
                continue;
            }
            let path = format!("{path} {}", sub.get_name());
            assert!(sub.get_about().is_some(), "{path} has no description");
            walk(sub, &path);
        }
    }
    walk(&cli, "keelctl");
}

#[test]
fn help_lists_the_exit_codes() {
    let help = Cli::command().render_help().to_string();
    for line in [
        "Exit codes",
        "2  usage error",
        "3  not logged in",
        "7  platform unavailable",
        "8  `plugin check` found errors",
    ] {
        assert!(help.contains(line), "{line:?} missing from:\n{help}");
    }
    let status = Cli::command().find_subcommand_mut("status").unwrap().render_long_help().to_string();
    assert!(status.contains("LAST ERROR") && status.contains("in a row"), "{status}");
}
