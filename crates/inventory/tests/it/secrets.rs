//! Secrets from `${VAR}` and `*_env`, and that they never leak.

use super::{FILE, error_env, parse, parse_env, y};

fn expose(s: &Option<fanout_core::Secret>) -> Option<&str> {
    s.as_ref().map(|s| s.expose())
}

#[test]
fn whole_embedded_and_env_forms() {
    let yaml = y("
        hosts:
          r1:
            hostname: 127.0.0.1
            password: ${LAB_PW}
            secret: \"pre-${LAB_EN}-post\"
            key_passphrase_env: LAB_KP
          r2:
            hostname: 127.0.0.2
            password_env: LAB_PW
            secret_env: ${LAB_EN}
            key_passphrase: \"$${literal} and $HOME stay\"
    ");
    let inv = parse_env(
        &yaml,
        &[("LAB_PW", "pw1"), ("LAB_EN", "en1"), ("LAB_KP", "kp1")],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (r1, r2) = (&inv.targets[0], &inv.targets[1]);
    assert_eq!(expose(&r1.credentials.password), Some("pw1"));
    assert_eq!(expose(&r1.secret), Some("pre-en1-post"));
    assert_eq!(expose(&r1.credentials.key_passphrase), Some("kp1"));
    assert_eq!(expose(&r2.credentials.password), Some("pw1"));
    assert_eq!(expose(&r2.secret), Some("en1"));
    assert_eq!(
        expose(&r2.credentials.key_passphrase),
        Some("${literal} and $HOME stay")
    );
}

#[test]
fn an_overridden_secret_needs_no_variable() {
    // defaults' ${UNSET} is never used: every host has its own password.
    let inv = parse(&y("
        defaults: {password: \"${UNSET}\"}
        hosts:
          r1: {hostname: 127.0.0.1, password: plain}
    "));
    assert_eq!(expose(&inv.targets[0].credentials.password), Some("plain"));
}

#[test]
fn unset_variable_names_the_variable_and_the_host() {
    let (text, locations) = error_env(
        &y("
            hosts:
              r1:
                hostname: 127.0.0.1
                password: ${LAB_PW}
        "),
        &[],
    );
    assert_eq!(locations, [(4, 15)], "{text}");
    assert!(text.contains("`LAB_PW` is not set"), "{text}");
    assert!(text.contains("host `r1`"), "{text}");
    assert!(text.contains("export LAB_PW=..."), "{text}");
}

#[test]
fn unset_env_field_variable() {
    let (text, locations) = error_env(
        &y("
            - host: 127.0.0.1
              name: r7
              secret_env: LAB_EN
        "),
        &[("LAB_PW", "x")],
    );
    assert_eq!(locations, [(3, 15)], "{text}");
    assert!(
        text.contains("`LAB_EN` is not set (needed for the enable secret of host `r7`)"),
        "{text}"
    );
    assert!(text.contains("export LAB_EN="), "{text}");
}

#[test]
fn one_problem_per_place_lists_the_hosts_using_it() {
    let (text, locations) = error_env(
        &y("
            defaults: {password: \"${LAB_PW}\"}
            hosts:
              a: {hostname: 127.0.0.1}
              b: {hostname: 127.0.0.2}
              c: {hostname: 127.0.0.3}
              d: {hostname: 127.0.0.4}
        "),
        &[],
    );
    assert_eq!(locations, [(1, 22)], "{text}");
    assert!(text.contains("hosts `a`, `b` and 2 more"), "{text}");
}

#[test]
fn secrets_never_appear_in_errors_or_debug() {
    let yaml = y("
        hosts:
          r1:
            hostname: 127.0.0.1
            password: hunter2-pw
            secret: [hunter3-en]
            port: abc
            pasword: hunter4-typo
            key_passphrase: \"hunter5${\"
    ");
    let (text, locations) = error_env(&yaml, &[]);
    assert_eq!(locations.len(), 4, "{text}");
    for secret in ["hunter2", "hunter3", "hunter4", "hunter5"] {
        assert!(!text.contains(secret), "{secret} leaked:\n{text}");
    }
    let debug = format!("{:?}", parse_env(&yaml, &[]));
    assert!(!debug.contains("hunter"), "{debug}");

    let ok = y("
        hosts:
          r1: {hostname: 127.0.0.1, password: hunter2-pw, secret: \"${EN}\"}
    ");
    let inv = parse_env(&ok, &[("EN", "hunter6")]).unwrap_or_else(|e| panic!("{e}"));
    let debug = format!("{inv:?}");
    assert!(!debug.contains("hunter"), "{debug}");
}

#[test]
fn malformed_references_are_errors() {
    let (text, locations) = error_env(
        &y("
            hosts:
              r1: {hostname: 127.0.0.1, password: \"x${OPEN\", secret: \"${not a name}\", password_env: 9X}
        "),
        &[],
    );
    assert_eq!(locations.len(), 3, "{text}");
    assert!(
        text.contains(&format!(
            "{FILE}:2:39: `password` has a `${{` without its closing `}}`"
        )),
        "{text}"
    );
    assert!(text.contains("not a variable name"), "{text}");
    assert!(text.contains("`password_env` and `password`"), "{text}");
}

/// A literal secret written where a variable's name belongs is never
/// printed: only conventional names (`LAB_PW`) are.
#[test]
fn literal_in_an_env_field_is_never_printed() {
    let yaml = y("
        hosts:
          r1:
            hostname: 127.0.0.1
            password_env: hunter2
            secret_env: cisco
            key_passphrase_env: $s3cret_Pass
    ");
    let (text, locations) = error_env(&yaml, &[]);
    assert_eq!(locations, [(4, 19), (5, 17), (6, 25)], "{text}");
    for literal in ["hunter2", "cisco", "s3cret"] {
        assert!(!text.contains(literal), "{literal} leaked:\n{text}");
    }
    let debug = format!("{:?}", parse_env(&yaml, &[]));
    for literal in ["hunter2", "cisco", "s3cret"] {
        assert!(!debug.contains(literal), "{literal} leaked:\n{debug}");
    }
    assert!(
        text.contains(&format!(
            "{FILE}:4:19: the environment variable named at {FILE}:4:19 is not set \
             (needed for the password of host `r1`); its name is not printed because \
             it does not look like a variable name"
        )),
        "{text}"
    );
    assert!(
        text.contains("for a literal value use `password:` instead of `password_env:`"),
        "{text}"
    );
    assert!(
        text.contains("enable secret of host `r1`")
            && text.contains("use `secret:` instead of `secret_env:`"),
        "{text}"
    );
    assert!(
        text.contains("use `key_passphrase:` instead of `key_passphrase_env:`"),
        "{text}"
    );
}

#[test]
fn unconventional_names_in_references_are_never_printed() {
    let yaml = y("
        defaults: {password: \"${hunter2}\"}
        hosts:
          r1: {hostname: 127.0.0.1, secret: \"pre-${cisco}-${LAB_EN}\"}
          r2: {hostname: 127.0.0.2}
    ");
    let (text, locations) = error_env(&yaml, &[]);
    // Per place: the hidden name once, `LAB_EN` by name.
    assert_eq!(locations, [(1, 22), (3, 37), (3, 37)], "{text}");
    for literal in ["hunter2", "cisco"] {
        assert!(!text.contains(literal), "{literal} leaked:\n{text}");
    }
    assert!(text.contains("hosts `r1` and `r2`"), "{text}");
    assert!(text.contains("for a literal `${` write `$${`"), "{text}");
    assert!(text.contains("`LAB_EN` is not set"), "{text}");
}

#[test]
fn token_env_is_read_inherited_and_never_printed() {
    let yaml = y("
        defaults: {token_env: LAB_TOKEN}
        hosts:
          r1: {hostname: 127.0.0.1}
    ");
    let inv = parse_env(&yaml, &[("LAB_TOKEN", "tok-Vb9-never-printed")])
        .unwrap_or_else(|e| panic!("{e}"));
    let t = &inv.targets[0];
    assert_eq!(expose(&t.credentials.token), Some("tok-Vb9-never-printed"));
    assert!(
        !format!("{t:?}").contains("tok-Vb9"),
        "Debug hides the token"
    );
    let (text, locations) = error_env(&yaml, &[]);
    assert_eq!(locations, [(1, 23)], "{text}");
    assert!(
        text.contains("`LAB_TOKEN` is not set (needed for the API token of host `r1`)"),
        "{text}"
    );
}
