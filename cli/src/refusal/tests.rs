use serde_json::json;

use super::*;
use crate::error::exit;

fn answer<'a>(target: &'a str, status: u16, keel_error: bool, body: &'a [u8]) -> Answer<'a> {
    Answer { url: "http://127.0.0.1:8000", target, status, keel_error, body }
}

fn body(code: &str, status: u16, msg: &str, plugin: Option<&str>) -> Vec<u8> {
    let mut b = json!({"ret": -i32::from(status), "msg": msg, "code": code});
    if let Some(p) = plugin {
        b["plugin"] = json!(p);
    }
    serde_json::to_vec(&b).unwrap()
}

#[test]
fn the_apis_words_become_the_clis() {
    assert_eq!(
        translate("unregister those first, or use ?force=true to remove their implementations too"),
        "unregister those first, or use --force to remove their implementations too"
    );
    assert_eq!(
        translate("plugin \"echo\" is already registered; unregister it first (DELETE /v1/plugins/echo) to register it again"),
        "plugin \"echo\" is already registered; unregister it first (keelctl plugins unregister echo) to register it again"
    );
    assert_eq!(
        translate("role \"x\" cannot be given in tenant \"acme\" (create it first with POST /v1/roles)"),
        "role \"x\" cannot be given in tenant \"acme\" (create it first with `keelctl roles create`)"
    );
    assert_eq!(translate("plain words"), "plain words");
}

#[test]
fn a_catalogue_refusal_shows_its_message_translated_and_its_code() {
    let b = body("ERR_IN_USE", 409, "in use; or use ?force=true to remove them", Some("greeter"));
    let e = decode(answer("plugins", 409, true, &b));
    assert_eq!(e.exit_code(), exit::CONFLICT);
    assert_eq!(e.to_string(), "in use; or use --force to remove them (HTTP 409, ERR_IN_USE)");
}

#[test]
fn a_malformed_request_is_the_command_lines_fault() {
    let b = body("ERR_BAD_REQUEST", 400, "malformed JSON body: unknown field `nmae`", None);
    assert_eq!(decode(answer("auth", 400, true, &b)).exit_code(), exit::USAGE);
    let b = body("ERR_BAD_PLUGIN_ID", 400, "plugin id \"Bad_Id\" must be lower-case", None);
    assert_eq!(decode(answer("plugins", 400, true, &b)).exit_code(), exit::USAGE);
}

#[test]
fn advice_by_code_is_added_on_its_own_line() {
    let b = body("ERR_UNAUTHENTICATED", 401, "the token has expired", None);
    let e = decode(answer("plugins", 401, true, &b));
    assert_eq!(e.exit_code(), exit::AUTH);
    assert!(
        e.to_string().ends_with(
            "\n  hint: your login has expired or was revoked: run `keelctl login -u <user>` again"
        ),
        "{e}"
    );
    let b = body("ERR_NOT_READY", 503, "keel is starting", None);
    let e = decode(answer("auth", 503, true, &b));
    assert_eq!(e.exit_code(), exit::UNAVAILABLE);
    assert!(e.to_string().contains("retry in a few seconds"), "{e}");
}

#[test]
fn the_platforms_own_services_missing_is_unavailable_not_not_found() {
    let b = body("ERR_UNKNOWN_PLUGIN", 404, "plugin \"plugins\" is not registered", Some("plugins"));
    let e = decode(answer("plugins", 404, true, &b));
    assert_eq!(e.exit_code(), exit::UNAVAILABLE);
    assert!(e.to_string().contains("still starting"), "{e}");
    // The registry saying another plugin is unknown is a plain 404.
    let b = body("ERR_UNKNOWN_PLUGIN", 404, "plugin \"nope\" is not registered", Some("nope"));
    let e = decode(answer("plugins", 404, true, &b));
    assert_eq!(e.exit_code(), exit::NOT_FOUND);
    assert!(!e.to_string().contains("hint"), "{e}");
    let b = body("ERR_PLUGIN_UNREACHABLE", 502, "plugin \"auth\" is unreachable", Some("auth"));
    let e = decode(answer("auth", 502, true, &b));
    assert_eq!(e.exit_code(), exit::UNAVAILABLE);
    assert!(e.to_string().contains("hint: keel cannot use auth (app-id auth) right now"), "{e}");
}

#[test]
fn a_sidecars_port_is_a_usage_error_with_a_hint() {
    let b = br#"{"errorCode":"ERR_DIRECT_INVOKE","message":"failed getting app id either from the URL path or the header dapr-app-id"}"#;
    let e = decode(answer("plugins", 404, false, b));
    assert_eq!(e.exit_code(), exit::USAGE);
    let text = e.to_string();
    assert!(
        text.contains("Dapr sidecar") && text.contains("ERR_DIRECT_INVOKE") && text.contains("8000"),
        "{text}"
    );
}

#[test]
fn keels_app_port_is_a_usage_error_with_a_hint() {
    for code in ["ERR_NO_CALLER", "ERR_APP_TOKEN"] {
        let b = body(code, 401, "no caller identity", None);
        let e = decode(answer("plugins", 401, true, &b));
        assert_eq!(e.exit_code(), exit::USAGE, "{code}");
        assert!(e.to_string().contains("keel's app port"), "{e}");
    }
}

#[test]
fn a_404_that_is_not_keels_is_a_usage_error_with_a_hint() {
    let e = decode(answer("plugins", 404, false, b"<html>Not Found</html>"));
    assert_eq!(e.exit_code(), exit::USAGE);
    assert!(e.to_string().contains("x-keel-error"), "{e}");
}

#[test]
fn other_answers_quote_what_they_can() {
    let e =
        decode(answer("auth", 400, false, br#"{"error":"invalid_grant","error_description":"bad login"}"#));
    assert_eq!(e.to_string(), "bad login (HTTP 400)");
    let e = decode(answer("auth", 500, false, b"plain failure\n"));
    assert_eq!(e.to_string(), "plain failure (HTTP 500)");
    let e = decode(answer("auth", 502, false, b""));
    assert_eq!((e.to_string().as_str(), e.exit_code()), ("Bad Gateway (HTTP 502)", exit::UNAVAILABLE));
}

#[test]
fn command_advice_is_added_only_when_the_message_lacks_it() {
    let b = body("ERR_IN_USE", 409, "in use by emoji", Some("greeter"));
    let e = decode(answer("plugins", 409, true, &b)).advise(Code::InUse, "--force", || "add --force".into());
    assert!(e.to_string().ends_with("hint: add --force"), "{e}");
    let b = body("ERR_IN_USE", 409, "in use; or use ?force=true", Some("greeter"));
    let e = decode(answer("plugins", 409, true, &b)).advise(Code::InUse, "--force", || "add --force".into());
    assert!(!e.to_string().contains("hint"), "{e}");
}
