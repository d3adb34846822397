use std::time::Duration;

use bytes::Bytes;
use serde_json::json;

use super::probe::Answer;
use super::*;

fn answer(status: u16, body: serde_json::Value) -> Answer {
    Answer {
        status,
        content_type: Some("application/json".into()),
        body: Bytes::from(serde_json::to_vec(&body).unwrap()),
        elapsed: Duration::from_millis(3),
    }
}

fn identify_findings(app_id: Option<&str>, body: serde_json::Value) -> Vec<&'static str> {
    let mut f = Findings::default();
    identify::judge(app_id, &answer(200, body), false, &mut f);
    f.0.iter().map(|f| f.check).collect()
}

#[test]
fn a_conforming_identify_has_no_findings() {
    let body = json!({"ret": 0, "msg": "ok", "plugin_id": "echo", "version": "1.0.0", "keel_version": "1.0"});
    assert!(identify_findings(Some("echo"), body).is_empty());
}

#[test]
fn identify_defects_are_named() {
    let base =
        || json!({"ret": 0, "msg": "ok", "plugin_id": "echo", "version": "1.0.0", "keel_version": "1.0"});
    let with = |k: &str, v: serde_json::Value| {
        let mut b = base();
        b[k] = v;
        b
    };
    assert_eq!(identify_findings(Some("other"), base()), ["identify.id-mismatch"]);
    assert_eq!(identify_findings(None, with("plugin_id", json!("Bad_Id"))), ["identify.invalid"]);
    assert_eq!(identify_findings(None, with("plugin_id", json!("auth"))), ["identify.reserved-id"]);
    assert_eq!(identify_findings(None, with("version", json!("latest"))), ["identify.invalid"]);
    assert_eq!(identify_findings(None, with("version", json!("1.0"))), ["identify.version-not-semver"]);
    assert_eq!(identify_findings(None, with("keel_version", json!("99.0"))), ["identify.keel-too-new"]);
    assert_eq!(identify_findings(None, with("keel_version", json!(""))), ["identify.no-keel-version"]);
    assert_eq!(identify_findings(None, with("ret", json!(3))), ["identify.refused"]);
    assert_eq!(identify_findings(None, with("version", json!(1))), ["identify.shape"]);
    assert_eq!(identify_findings(None, with("addon", json!([]))), ["identify.unknown-field"]);
    assert_eq!(identify_findings(None, with("console", json!([]))), Vec::<&str>::new());
    let mut tkeel = base();
    tkeel.as_object_mut().unwrap().remove("keel_version");
    tkeel["tkeel_version"] = json!("1.0");
    tkeel["addons_points"] = json!([{"addons_point": "p", "desc": ""}]);
    assert_eq!(identify_findings(None, tkeel), ["identify.alias"]);
    let mut bare = base();
    bare.as_object_mut().unwrap().remove("ret");
    assert_eq!(identify_findings(None, bare), ["identify.no-envelope"]);
}

#[test]
fn identify_fixes_say_what_to_type() {
    let mut f = Findings::default();
    let body =
        json!({"ret": 0, "msg": "ok", "plugin_id": "greeter", "version": "1.0.0", "keel_version": "1.0"});
    identify::judge(Some("echo"), &answer(200, body), false, &mut f);
    assert!(f.0[0].fix.contains("\"plugin_id\": \"echo\""), "{:?}", f.0);
    let mut f = Findings::default();
    identify::judge(None, &answer(404, json!({})), false, &mut f);
    assert_eq!(f.0[0].check, "identify.http-status");
    assert!(f.0[0].fix.contains("serve GET /v1/identify"), "{:?}", f.0);
}

#[test]
fn statuses_are_judged() {
    let judge = |body| {
        let mut f = Findings::default();
        let s = status::judge(&answer(200, body), &mut f);
        (s, f.0.iter().map(|f| f.check).collect::<Vec<_>>())
    };
    assert_eq!(judge(json!({"ret": 0, "msg": "ok", "status": "ACTIVE"})).1, Vec::<&str>::new());
    assert_eq!(judge(json!({"ret": 0, "msg": "ok", "status": "STARTING"})).1, ["status.not-active"]);
    assert_eq!(judge(json!({"ret": 0, "msg": "ok", "status": "RUNNING"})).1, ["status.value"]);
    assert_eq!(judge(json!({"ret": 0, "msg": "ok"})).1, ["status.value"]);
    // Slowness is the polls' median: one slow poll in three is not a finding, two are.
    let ms = |v: &[u64]| v.iter().map(|&m| Duration::from_millis(m)).collect::<Vec<_>>();
    let mut f = Findings::default();
    status::judge_times(&ms(&[3, 1_500, 2]), &mut f);
    assert!(f.0.is_empty(), "{:?}", f.0.iter().map(|f| f.check).collect::<Vec<_>>());
    status::judge_times(&ms(&[1_500, 3, 1_200]), &mut f);
    assert_eq!(f.0.iter().map(|f| f.check).collect::<Vec<_>>(), ["status.slow"]);
}

#[test]
fn addons_answers_are_judged() {
    let judge = |status, body| {
        let mut f = Findings::default();
        let v = addons::judge(&answer(status, body), &mut f);
        (v, f.0.iter().map(|f| f.check).collect::<Vec<_>>())
    };
    assert_eq!(judge(200, json!({"ret": 0, "msg": "ok"})), (Some("accepted"), vec![]));
    assert_eq!(judge(200, json!({"ret": 1, "msg": "no"})), (Some("refused"), vec!["addons.refused"]));
    assert_eq!(judge(200, json!({"ret": 1, "msg": ""})), (Some("refused"), vec!["addons.refused-silently"]));
    assert_eq!(judge(404, json!({})), (None, vec!["addons.not-served"]));
    let mut f = Findings::default();
    addons::judge_malformed(&answer(200, json!({"ret": 0, "msg": "ok"})), &mut f);
    assert_eq!(f.0[0].check, "addons.accepts-malformed");
    let mut f = Findings::default();
    addons::judge_malformed(&answer(400, json!({"ret": 1, "msg": "bad"})), &mut f);
    assert!(f.0.is_empty());
}

#[test]
fn error_answers_carry_the_envelope() {
    let judge = |status, body: &[u8]| {
        let mut f = Findings::default();
        let a = Answer { body: Bytes::copy_from_slice(body), ..answer(status, json!({})) };
        robustness::judge_unknown(&a, &mut f);
        f.0.iter().map(|f| f.check).collect::<Vec<_>>()
    };
    assert!(judge(404, br#"{"ret": -404, "msg": "no such path"}"#).is_empty());
    assert!(judge(200, b"anything").is_empty());
    assert_eq!(judge(404, b""), ["errors.no-envelope"]);
    assert_eq!(judge(404, br#"{"detail": "Not Found"}"#), ["errors.no-envelope"]);
    assert_eq!(judge(404, br#"{"ret": 0, "msg": "ok"}"#), ["errors.ret-zero"]);
}

#[test]
fn targets_are_app_ids_or_urls() {
    assert_eq!(parse_target("echo").unwrap(), Target::AppId("echo".into()));
    assert_eq!(parse_target("http://127.0.0.1:3110/").unwrap(), Target::Url("http://127.0.0.1:3110".into()));
    assert_eq!(parse_target("Echo").unwrap_err().exit_code(), 2);
    assert_eq!(parse_target("ftp://x").unwrap_err().exit_code(), 2);
    assert_eq!(parse_target("https://127.0.0.1:3110").unwrap_err().exit_code(), 2);
}

#[test]
fn the_report_names_each_finding_and_its_fix() {
    let report = Report {
        target: "echo".into(),
        via: "directly".into(),
        checked: vec![
            Checked { area: "identify", summary: "echo 1.0.0".into() },
            Checked { area: "status", summary: "ACTIVE".into() },
        ],
        findings: vec![Finding {
            severity: Severity::Error,
            check: "identify.id-mismatch",
            message: "m".into(),
            fix: "f".into(),
        }],
        errors: 1,
        warnings: 0,
    };
    let text = report::text(&report);
    assert!(text.contains("ok       status: ACTIVE"), "{text}");
    assert!(text.contains("seen     identify: echo 1.0.0"), "{text}");
    assert!(text.contains("error    identify.id-mismatch: m\n           fix: f"), "{text}");
    assert!(text.contains("1 error, 0 warnings"), "{text}");
}

#[test]
fn a_denied_invocation_says_how_to_get_through() {
    let checks = |e: probe::CallError| {
        let mut f = Findings::default();
        identify::no_answer_for_test(&e, &mut f);
        f.0.remove(0)
    };
    let denied = checks(probe::CallError::Sidecar {
        status: 403,
        message: "access control policy has denied access".into(),
    });
    assert_eq!(denied.check, "identify.unreachable");
    assert!(denied.message.contains("denied the call (HTTP 403"), "{denied:?}");
    assert!(denied.fix.contains("plugin's own sidecar"), "{denied:?}");
    let unknown = checks(probe::CallError::Sidecar { status: 500, message: "no app".into() });
    assert!(unknown.fix.contains("start the plugin behind a sidecar"), "{unknown:?}");
    let slow = checks(probe::CallError::Timeout(IDENTIFY_LIMIT));
    assert_eq!(slow.check, "identify.timeout");
    assert!(slow.fix.contains("identify_timeout_ms, 5000 ms"), "{slow:?}");
}
