//! Every failure is a message for that output: what, with what, what to do.

use std::fs;

use fanout_parse::{ParseError, Parser};

#[test]
fn a_command_without_a_template_says_so() {
    let err = Parser::builtin()
        .parse("cisco_ios", "show frobnicate", "x\n")
        .unwrap_err();
    assert!(matches!(err, ParseError::NoTemplate { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("no template for platform cisco_ios, command `show frobnicate`")
            && msg.contains("--templates DIR"),
        "{msg}"
    );
}

#[test]
fn a_template_ntc_has_but_fanout_does_not_ship_is_named() {
    // ntc-templates parses `show interfaces` on IOS; fanout ships only the
    // simulator's commands. The shipped index is ntc's whole index, so the
    // command does not fall through to a shorter pattern either.
    let err = Parser::builtin()
        .parse("cisco_ios", "show interfaces", "x\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("with cisco_ios_show_interfaces.textfsm, which fanout does not ship"),
        "{err}"
    );
    let err = Parser::builtin()
        .parse("cisco_xr", "show version brief", "x\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("cisco_xr_show_version_brief.textfsm"), "{err}");
}

#[test]
fn an_output_the_template_does_not_recognise_is_no_records() {
    let err = Parser::builtin()
        .parse(
            "cisco_ios",
            "show version",
            "% Invalid input detected at '^' marker.\n",
        )
        .unwrap_err();
    assert!(matches!(err, ParseError::NoRecords { .. }), "{err:?}");
    assert!(
        err.to_string().contains(
            "cisco_ios_show_version.textfsm found no record in the output of `show version`"
        ),
        "{err}"
    );
}

#[test]
fn an_invalid_template_file_is_refused_with_its_path_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("bad.textfsm");
    fs::write(&path, "Value NAME (\\S+)\n\nStart\n  ^${NAMEX} -> Record\n").unwrap();
    let err = Parser::from_template_file(&path).unwrap_err().to_string();
    assert!(
        err.contains("bad.textfsm is invalid") && err.contains("line 4"),
        "{err}"
    );
    let missing = Parser::from_template_file(&tmp.path().join("nope.textfsm"))
        .unwrap_err()
        .to_string();
    assert!(missing.contains("nope.textfsm"), "{missing}");
}

#[test]
fn a_templates_error_rule_is_a_message_not_a_crash() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("strict.textfsm");
    fs::write(
        &path,
        "Value NAME (\\S+)\n\nStart\n  ^name ${NAME} -> Record\n  ^.+ -> Error \"unexpected line\"\n",
    )
    .unwrap();
    let p = Parser::from_template_file(&path).unwrap();
    assert!(p.parse("x", "y", "name a\n").is_ok());
    let err = p.parse("x", "y", "name a\ngarbage\n").unwrap_err();
    assert!(matches!(err, ParseError::Rule { .. }), "{err:?}");
    assert!(err.to_string().contains("unexpected line"), "{err}");
}

#[test]
fn a_templates_folder_without_a_valid_index_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let err = Parser::from_dir(tmp.path()).unwrap_err().to_string();
    assert!(err.contains("index"), "{err}");
    fs::write(tmp.path().join("index"), "Hostname, Platform\n").unwrap();
    let err = Parser::from_dir(tmp.path()).unwrap_err().to_string();
    assert!(
        err.contains("not a valid template index") && err.contains("Template"),
        "{err}"
    );
}

#[test]
fn a_broken_or_missing_template_in_a_folder_fails_only_its_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(
        tmp.path().join("index"),
        "Template, Platform, Command\n\
         broken.textfsm, os, show broken\n\
         missing.textfsm, os, show missing\n\
         good.textfsm, os, show good\n",
    )
    .unwrap();
    fs::write(
        tmp.path().join("broken.textfsm"),
        "Value X (\\S+)\n\nNoStart\n",
    )
    .unwrap();
    fs::write(
        tmp.path().join("good.textfsm"),
        "Value X (\\S+)\n\nStart\n  ^${X} -> Record\n",
    )
    .unwrap();
    let p = Parser::from_dir(tmp.path()).unwrap();
    let broken = p.parse("os", "show broken", "a\n").unwrap_err().to_string();
    assert!(
        broken.contains("broken.textfsm is invalid") && broken.contains("Start"),
        "{broken}"
    );
    let missing = p
        .parse("os", "show missing", "a\n")
        .unwrap_err()
        .to_string();
    assert!(missing.contains("missing.textfsm"), "{missing}");
    assert_eq!(p.parse("os", "show good", "a\n").unwrap().records.len(), 1);
}
