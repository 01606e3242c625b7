//! Every bad input: FILE:LINE:COL, what is wrong and what to do.

use super::{FILE, assert_error, error, y};

// --- YAML syntax ------------------------------------------------------------

#[test]
fn syntax_bad_indentation() {
    assert_error(
        &y("
            hosts:
              r1:
                hostname: 127.0.0.1
               port: 22
        "),
        4,
        4,
        &["invalid YAML", "check the indentation"],
    );
}

#[test]
fn syntax_unclosed_bracket_points_at_the_bracket() {
    assert_error(
        &y("
            hosts:
              r1: {hostname: 127.0.0.1, groups: [core]
              r2: {hostname: 127.0.0.2}
        "),
        2,
        7,
        &["this `{` is not closed", "add the missing `}`"],
    );
}

#[test]
fn syntax_unclosed_quote_and_tabs() {
    assert_error("- host: \"127.0.0.1\n", 1, 9, &["close the quote"]);
    assert_error("hosts:\n\tr1: {hostname: 127.0.0.1}\n", 2, 2, &["not tabs"]);
}

#[test]
fn second_document_is_rejected() {
    assert_error(
        &y("
            - host: 127.0.0.1
            ---
            - host: 127.0.0.2
        "),
        2,
        1,
        &["second YAML document"],
    );
}

// --- unknown keys -----------------------------------------------------------

#[test]
fn unknown_key_in_a_host_suggests_the_right_one() {
    assert_error(
        &y("
            hosts:
              r1:
                hostname: 127.0.0.1
                pasword: x
        "),
        4,
        5,
        &[
            "unknown key `pasword` in host `r1`",
            "did you mean `password`?",
        ],
    );
}

#[test]
fn unknown_key_in_a_group_and_in_defaults() {
    let (text, locations) = error(&y("
        defaults:
          usrname: admin
        groups:
          core: {platfrom: nxos}
        hosts:
          r1: {hostname: 127.0.0.1, groups: [core]}
    "));
    assert_eq!(locations, [(2, 3), (4, 10)], "{text}");
    assert!(
        text.contains(&format!(
            "{FILE}:2:3: unknown key `usrname` in defaults; did you mean `username`?"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{FILE}:4:10: unknown key `platfrom` in group `core`; did you mean `platform`?"
        )),
        "{text}"
    );
}

#[test]
fn unknown_key_in_a_device_and_without_suggestion() {
    let (text, locations) = error(&y("
        - host: 127.0.0.1
          auth_pasword: x
        - host: 127.0.0.2
          colour: blue
    "));
    assert_eq!(locations, [(2, 3), (4, 3)], "{text}");
    assert!(
        text.contains(
            "unknown key `auth_pasword` in device `127.0.0.1`; did you mean `auth_password`?"
        ),
        "{text}"
    );
    assert!(text.contains("unknown key `colour` in device `127.0.0.2`; remove it, or put free-form data under `vars:`"), "{text}");
}

#[test]
fn unknown_top_level_section() {
    assert_error(
        &y("
            defaults: {port: 22}
            host:
              r1: {hostname: 127.0.0.1}
        "),
        2,
        1,
        &["unknown section `host`", "did you mean `hosts`?"],
    );
}

#[test]
fn host_outside_hosts_section() {
    let (text, locations) = error(&y("
        hosts:
          r1: {hostname: 127.0.0.1}
        r2: {hostname: 127.0.0.2}
    "));
    assert_eq!(locations, [(3, 1)], "{text}");
    assert!(text.contains("indent it under `hosts:`"), "{text}");
}

#[test]
fn keys_that_belong_elsewhere_say_so() {
    let (text, locations) = error(&y("
        defaults: {groups: [core]}
        groups:
          core: {}
        hosts:
          r1: {host: 127.0.0.1, name: r1}
    "));
    assert_eq!(locations, [(1, 12), (5, 8), (5, 25)], "{text}");
    assert!(text.contains("defaults cannot belong to groups"), "{text}");
    assert!(
        text.contains("the address key here is `hostname:`"),
        "{text}"
    );
    assert!(
        text.contains("the key under `hosts:` is the host's name"),
        "{text}"
    );
}

#[test]
fn unknown_timeout_phase() {
    assert_error(
        "hosts: {r1: {hostname: 127.0.0.1, timeouts: {comand: 5s}}}\n",
        1,
        46,
        &["unknown timeout `comand`", "did you mean `command`?"],
    );
}

#[test]
fn two_spellings_of_one_setting() {
    assert_error(
        &y("
            - host: 127.0.0.1
              username: a
              auth_username: b
        "),
        3,
        3,
        &[
            "`auth_username` and `username` (at lab/inv.yaml:2:3) both set the username",
            "keep only one",
        ],
    );
}

// --- wrong types ------------------------------------------------------------

#[test]
fn port_not_a_number() {
    assert_error(
        "hosts: {r1: {hostname: 127.0.0.1, port: abc}}\n",
        1,
        41,
        &[
            "port must be a number from 1 to 65535, not `abc`",
            "port: 22",
        ],
    );
}

#[test]
fn groups_not_a_list() {
    assert_error(
        &y("
            groups: {core: {}}
            hosts:
              r1:
                hostname: 127.0.0.1
                groups: core
        "),
        5,
        13,
        &["`groups` must be a list", "write `groups: [core]`"],
    );
}

#[test]
fn vars_not_a_map_and_var_not_a_scalar() {
    let (text, locations) = error(&y("
        - host: 127.0.0.1
          vars: [a, b]
        - host: 127.0.0.2
          vars: {site: lon, racks: [1, 2]}
    "));
    assert_eq!(locations, [(2, 9), (4, 28)], "{text}");
    assert!(
        text.contains("`vars` must be a map of names to values, not a list"),
        "{text}"
    );
    assert!(
        text.contains("`vars.racks` is a list; vars hold single values"),
        "{text}"
    );
}

#[test]
fn other_wrong_types() {
    let (text, locations) = error(&y("
        hosts:
          r1:
            hostname: [127.0.0.1]
            agent: maybe
            timeouts: 5s
            timeout: fast
            host_keys: loose
          r2: 127.0.0.2
    "));
    assert_eq!(
        locations,
        [(3, 15), (4, 12), (5, 15), (6, 14), (7, 16), (8, 7)],
        "{text}"
    );
    assert!(
        text.contains("`hostname` must be a single value, not a list"),
        "{text}"
    );
    assert!(
        text.contains("`agent` must be true or false, not `maybe`"),
        "{text}"
    );
    assert!(text.contains("`timeouts` must be a map"), "{text}");
    assert!(text.contains("invalid duration `fast`"), "{text}");
    assert!(text.contains("use strict, accept-new or off"), "{text}");
    assert!(
        text.contains("host `r2` must be a map of settings, not a single value"),
        "{text}"
    );
}

#[test]
fn sections_of_the_wrong_type() {
    let (text, locations) = error(&y("
        groups: [core]
        hosts: [r1]
    "));
    assert_eq!(locations, [(1, 9), (2, 8)], "{text}");
    assert!(
        text.contains("`groups` must be a map of names to settings, not a list"),
        "{text}"
    );
    assert!(
        text.contains("`hosts` must be a map of names to settings, not a list"),
        "{text}"
    );
    assert_error("127.0.0.1\n", 1, 1, &["expected a list of devices"]);
    assert_error(
        "- 127.0.0.1\n",
        1,
        3,
        &["device #1 must be a map of settings"],
    );
}

#[test]
fn zero_and_quoted_numbers_for_durations() {
    let (text, locations) = error(&y("
        - {host: 127.0.0.1, timeout: 0}
        - {host: 127.0.0.2, timeout: \"5\"}
    "));
    assert_eq!(locations, [(1, 30), (2, 30)], "{text}");
    assert!(text.contains("`timeout` must be longer than 0"), "{text}");
    assert!(text.contains("add a unit, e.g. 5s"), "{text}");
}

// --- addresses, names, groups ----------------------------------------------

#[test]
fn host_without_address() {
    assert_error(
        &y("
            defaults: {port: 22}
            groups: {core: {}}
            hosts:
              r1: {hostname: 127.0.0.1}
              r2: {groups: [core]}
        "),
        5,
        3,
        &[
            "host `r2` has no address",
            "add `hostname: ADDRESS` to it, to one of its groups or to defaults",
        ],
    );
}

#[test]
fn device_without_address() {
    assert_error(
        &y("
            - host: 127.0.0.1
            - port: 2202
              username: admin
        "),
        2,
        3,
        &[
            "device #2 has no address",
            "add `host: ADDRESS` (or `ip: ADDRESS`)",
        ],
    );
}

#[test]
fn host_in_unknown_group() {
    assert_error(
        &y("
            groups:
              core: {}
              edge: {}
            hosts:
              r1: {hostname: 127.0.0.1, groups: [edge, cores]}
        "),
        5,
        44,
        &[
            "host `r1` is in group `cores`, which is not defined under `groups:`",
            "did you mean `core`?",
        ],
    );
}

#[test]
fn group_with_missing_parent() {
    assert_error(
        &y("
            groups:
              core: {groups: [london]}
            hosts:
              r1: {hostname: 127.0.0.1, groups: [core]}
        "),
        2,
        19,
        &[
            "group `core` has parent group `london`, which is not defined",
            "define it under `groups:`",
        ],
    );
}

#[test]
fn duplicate_device_names_report_both_places() {
    let (text, locations) = error(&y("
        - host: 127.0.0.1
          name: r1
        - host: 127.0.0.2
        - host: 127.0.0.3
          name: r1
    "));
    assert_eq!(locations, [(5, 9)], "{text}");
    assert!(
        text.contains(&format!(
            "{FILE}:5:9: duplicate host name `r1` (first at {FILE}:2:9)"
        )),
        "{text}"
    );
    assert!(text.contains("unique `name:`"), "{text}");
}

#[test]
fn duplicate_host_keys_report_both_places() {
    let (text, locations) = error(&y("
        hosts:
          r1: {hostname: 127.0.0.1}
          r2: {hostname: 127.0.0.2}
          r1: {hostname: 127.0.0.3}
    "));
    assert_eq!(locations, [(4, 3)], "{text}");
    assert!(
        text.contains(&format!("duplicate key `r1` (first at {FILE}:2:3)")),
        "{text}"
    );
}

#[test]
fn duplicate_setting_in_one_map() {
    assert_error(
        "- {host: 127.0.0.1, port: 22, port: 23}\n",
        1,
        31,
        &["duplicate key `port` (first at lab/inv.yaml:1:21)"],
    );
}

#[test]
fn group_cycles_are_named() {
    let (text, locations) = error(&y("
        groups:
          a: {groups: [b]}
          b: {groups: [c]}
          c: {groups: [a]}
          self: {groups: [self]}
        hosts:
          r1: {hostname: 127.0.0.1, groups: [a]}
    "));
    assert_eq!(locations, [(4, 16), (5, 19)], "{text}");
    assert!(
        text.contains(&format!(
            "{FILE}:4:16: groups form a cycle: a -> b -> c -> a;"
        )),
        "{text}"
    );
    assert!(text.contains("groups form a cycle: self -> self"), "{text}");
    assert!(
        text.contains("remove one of these parent references"),
        "{text}"
    );
}

// --- empty inventories ------------------------------------------------------

#[test]
fn empty_inventories() {
    assert_error("", 1, 1, &["the inventory is empty"]);
    assert_error("# nothing yet\n", 1, 1, &["the inventory is empty"]);
    assert_error("[]\n", 1, 1, &["the device list is empty"]);
    assert_error(
        "hosts: {}\n",
        1,
        1,
        &["`hosts:` is empty", "add at least one host"],
    );
    assert_error(
        "defaults: {port: 22}\nhosts:\n",
        2,
        1,
        &["`hosts:` is empty"],
    );
    assert_error("defaults: {port: 22}\n", 1, 1, &["no `hosts:` section"]);
}

// --- values -----------------------------------------------------------------

#[test]
fn port_out_of_range() {
    let (text, locations) = error(&y("
        - {host: 127.0.0.1, port: 0}
        - {host: 127.0.0.2, port: 65536}
        - {host: 127.0.0.3, port: -22}
        - {host: 127.0.0.4, port: 65535}
    "));
    assert_eq!(locations, [(1, 27), (2, 27), (3, 27)], "{text}");
    assert!(
        text.contains("port 0 is out of range; use a number from 1 to 65535"),
        "{text}"
    );
    assert!(text.contains("port 65536 is out of range"), "{text}");
    assert!(text.contains("port -22 is out of range"), "{text}");
}

#[test]
fn unknown_platform_lists_the_accepted_names() {
    assert_error(
        &y("
            - host: 127.0.0.1
              device_type: cisco_iso
        "),
        2,
        16,
        &[
            "unknown platform `cisco_iso`",
            "expected one of ios, iosxe",
            "did you mean `cisco_ios`?",
        ],
    );
}

/// Telnet is a transport now (issue 14): only unknown names are errors,
/// and a transport that contradicts the platform's netmiko suffix.
#[test]
fn unknown_or_contradicting_transports_are_errors() {
    assert_error(
        "- {host: 127.0.0.1, transport: carrier-pigeon}\n",
        1,
        32,
        &["unknown transport `carrier-pigeon`; use ssh or telnet"],
    );
    assert_error(
        "- {host: 127.0.0.1, device_type: cisco_ios_telnet, transport: ssh}\n",
        1,
        63,
        &[
            "the transport says ssh but the platform name (at lab/inv.yaml:1:34) says telnet",
            "keep only one",
        ],
    );
    assert_error(
        "- {host: 127.0.0.1, device_type: cisco_ios_rlogin}\n",
        1,
        34,
        &[
            "unknown platform `cisco_ios_rlogin`",
            "`_ssh` and `_telnet` endings",
        ],
    );
}

#[test]
fn all_problems_are_reported_in_file_order() {
    let (text, locations) = error(&y("
        groups:
          core: {platform: nxos}
        hosts:
          r2: {hostname: 127.0.0.2, port: 0}
          r1: {hostname: 127.0.0.1, groups: [coer], pasword: x}
          r3: {groups: [core]}
    "));
    assert_eq!(locations, [(4, 35), (5, 38), (5, 45), (6, 3)], "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines.iter().all(|l| l.starts_with(FILE)), "{text}");
}
