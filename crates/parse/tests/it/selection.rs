//! Which template parses what: ntc-templates' index semantics.

use std::fs;

use fanout_core::Platform;
use fanout_parse::{Field, Parser, ntc_platform};

const IOS_BRIEF: &str = "\
Interface                  IP-Address      OK? Method Status                Protocol
Loopback0                  203.0.113.1     YES NVRAM  up                    up
Ethernet0/2                unassigned      YES unset  administratively down down
";

#[test]
fn abbreviated_commands_pick_the_template_like_ntc_templates() {
    let p = Parser::builtin();
    for command in [
        "show ip interface brief",
        "sh ip int br",
        "sho ip interface bri",
    ] {
        let parsed = p.parse("cisco_ios", command, IOS_BRIEF).unwrap();
        assert_eq!(
            parsed.template, "cisco_ios_show_ip_interface_brief.textfsm",
            "{command}"
        );
        assert_eq!(parsed.records.len(), 2);
    }
    // The platform decides: the same command on NX-OS is another template.
    let err = p
        .parse("cisco_nxos", "show ip interface brief", IOS_BRIEF)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("template cisco_nxos_show_ip_interface_brief.textfsm rejected the output"),
        "{err}"
    );
}

#[test]
fn records_keep_ntc_field_names_in_template_order() {
    let parsed = Parser::builtin()
        .parse("cisco_ios", "show ip interface brief", IOS_BRIEF)
        .unwrap();
    let r = &parsed.records[1];
    let names: Vec<&str> = r.fields().iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["INTERFACE", "IP_ADDRESS", "STATUS", "PROTO"],
        "the template's Value names, in its order"
    );
    assert_eq!(r.text("INTERFACE"), Some("Ethernet0/2"));
    assert_eq!(r.text("STATUS"), Some("administratively down"));
    assert_eq!(
        serde_json::to_string(r).unwrap(),
        r#"{"INTERFACE":"Ethernet0/2","IP_ADDRESS":"unassigned","STATUS":"administratively down","PROTO":"down"}"#
    );
}

#[test]
fn list_values_are_arrays_and_unmatched_values_empty() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("t.textfsm");
    fs::write(
        &path,
        "Value NAME (\\S+)\nValue List PORTS (\\d+)\nValue NOTE (\\S+)\n\nStart\n  ^name ${NAME}\n  ^port ${PORTS}\n  ^end -> Record\n",
    )
    .unwrap();
    let p = Parser::from_template_file(&path).unwrap();
    let parsed = p
        .parse("any", "any", "name a\nport 1\nport 2\nend\n")
        .unwrap();
    let r = &parsed.records[0];
    assert!(matches!(r.get("PORTS"), Some(Field::List(items)) if items.len() == 2));
    assert_eq!(r.text("NOTE"), Some(""));
    assert_eq!(
        serde_json::to_string(r).unwrap(),
        r#"{"NAME":"a","PORTS":["1","2"],"NOTE":""}"#
    );
}

#[test]
fn exec_outputs_with_crlf_parse_like_cli_outputs() {
    let p = Parser::builtin();
    let lf = p.parse("cisco_ios", "show ip interface brief", IOS_BRIEF);
    let crlf = p.parse(
        "cisco_ios",
        "show ip interface brief",
        &IOS_BRIEF.replace('\n', "\r\n"),
    );
    assert_eq!(lf.unwrap().records, crlf.unwrap().records);
}

#[test]
fn fanout_platforms_map_to_ntc_names() {
    assert_eq!(ntc_platform(None), "cisco_ios");
    assert_eq!(ntc_platform(Some(Platform::Iosxe)), "cisco_ios");
    assert_eq!(ntc_platform(Some(Platform::Nxos)), "cisco_nxos");
    assert_eq!(ntc_platform(Some(Platform::Eos)), "arista_eos");
    assert_eq!(ntc_platform(Some(Platform::Iosxr)), "cisco_xr");
    assert_eq!(ntc_platform(Some(Platform::Junos)), "juniper_junos");
}

/// A templates folder of one's own: the first matching index row wins
/// (longer commands first, as ntc-templates orders them), and a row with
/// several templates merges their records on the shared Key values.
#[test]
fn a_templates_folder_follows_its_index() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fs::write(
        dir.join("index"),
        "Template, Hostname, Platform, Command\n\n\
         lab_show_thing_detail.textfsm, .*, lab_os, sh[[ow]] th[[ing]] det[[ail]]\n\
         lab_show_thing.textfsm:lab_show_thing_extra.textfsm, .*, lab_os, sh[[ow]] th[[ing]]\n",
    )
    .unwrap();
    fs::write(
        dir.join("lab_show_thing_detail.textfsm"),
        "Value DETAIL (.+)\n\nStart\n  ^detail: ${DETAIL} -> Record\n",
    )
    .unwrap();
    fs::write(
        dir.join("lab_show_thing.textfsm"),
        "Value Key NAME (\\S+)\nValue STATE (\\S+)\n\nStart\n  ^${NAME} is ${STATE} -> Record\n",
    )
    .unwrap();
    fs::write(
        dir.join("lab_show_thing_extra.textfsm"),
        "Value Key NAME (\\S+)\nValue SPEED (\\d+)\n\nStart\n  ^${NAME} speed ${SPEED} -> Record\n",
    )
    .unwrap();
    let p = Parser::from_dir(dir).unwrap();
    let detail = p
        .parse("lab_os", "sh th det", "detail: all good\n")
        .unwrap();
    assert_eq!(detail.template, "lab_show_thing_detail.textfsm");
    assert_eq!(detail.records[0].text("DETAIL"), Some("all good"));

    let merged = p
        .parse(
            "lab_os",
            "show thing",
            "a is up\nb is down\na speed 10\nb speed 40\n",
        )
        .unwrap();
    assert_eq!(
        merged.template,
        "lab_show_thing.textfsm:lab_show_thing_extra.textfsm"
    );
    let b = merged
        .records
        .iter()
        .find(|r| r.text("NAME") == Some("b"))
        .unwrap();
    assert_eq!(
        (b.text("STATE"), b.text("SPEED")),
        (Some("down"), Some("40"))
    );
}
