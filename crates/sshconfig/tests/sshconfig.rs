//! ssh_config resolution: patterns, negation, first value wins, tokens,
//! Include, located errors.

use std::path::Path;

use fanout_sshconfig::{Error, SshConfig, Tokens};

fn parse(text: &str) -> SshConfig {
    SshConfig::parse(text, Path::new("/lab/ssh_config"), Path::new("/home/ops")).unwrap()
}

#[test]
fn host_patterns_negation_and_first_value_wins() {
    let c = parse(
        "# lab\n\
         Host core-* !core-9\n\
         \x20 HostName 127.0.0.%n\n\
         \x20 Port 2201\n\
         Host core-1\n\
         \x20 Port 9999\n\
         \x20 User late\n\
         Host *\n\
         \x20 User ops\n\
         \x20 Port 22\n",
    );
    let r = c.resolve("core-1");
    assert_eq!(
        r.get("port").unwrap().text(),
        "2201",
        "the first value wins"
    );
    assert_eq!(r.get("Port").unwrap().pos.to_string(), "/lab/ssh_config:4");
    assert_eq!(r.get("user").unwrap().text(), "late");
    let r = c.resolve("core-9");
    assert!(r.get("hostname").is_none(), "negated pattern");
    assert_eq!(r.get("port").unwrap().text(), "22");
    assert_eq!(r.get("user").unwrap().pos.line, 9);
    let r = c.resolve("CORE-2");
    assert_eq!(r.get("port").unwrap().text(), "2201", "case-insensitive");
    let r = c.resolve("edge?");
    assert_eq!(r.get("port").unwrap().text(), "22");
}

#[test]
fn equals_quotes_and_comments() {
    let c = parse(
        "Host a\n  ProxyCommand=\"nc -x proxy %h %p\" # why\n  IdentityFile ~/.ssh/a\n  IdentityFile ~/.ssh/b\n",
    );
    let r = c.resolve("a");
    assert_eq!(r.get("proxycommand").unwrap().args, ["nc -x proxy %h %p"]);
    let ids: Vec<String> = r.identity_files().iter().map(|v| v.text()).collect();
    assert_eq!(ids, ["~/.ssh/a", "~/.ssh/b"], "IdentityFile accumulates");
}

#[test]
fn tokens_expand_and_unknown_ones_are_errors() {
    let c = parse("Host r1\n  ProxyCommand nc %h %p %r %n %% %d\n  IdentityFile ~/.ssh/%n\n");
    let r = c.resolve("r1");
    let tokens = Tokens {
        hostname: "10.0.0.1",
        port: 2222,
        user: Some("ops"),
        home: Path::new("/home/ops"),
    };
    let v = r.get("proxycommand").unwrap();
    assert_eq!(
        r.expand(&v.text(), &v.pos, &tokens).unwrap(),
        "nc 10.0.0.1 2222 ops r1 % /home/ops"
    );
    let id = &r.identity_files()[0];
    assert_eq!(
        r.expand(&id.text(), &id.pos, &tokens).unwrap(),
        "/home/ops/.ssh/r1"
    );
    let e = r.expand("%z", &v.pos, &tokens).unwrap_err();
    assert!(
        e.to_string()
            .contains("/lab/ssh_config:2: unknown token `%z`"),
        "{e}"
    );
}

#[test]
fn include_globs_relative_to_the_including_file_under_its_block() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("conf.d")).unwrap();
    std::fs::write(
        dir.path().join("conf.d/10-core"),
        "HostName 127.0.0.10\nHost edge\n  Port 2300\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("conf.d/20-x"), "Host *\n  User fromglob\n").unwrap();
    std::fs::write(dir.path().join("conf.d/skip.txt"), "Host *\n  User wrong\n").unwrap();
    let main = dir.path().join("config");
    std::fs::write(
        &main,
        "Host core\n  Include conf.d/*-*\n  Include missing-is-fine\nHost *\n  User last\n",
    )
    .unwrap();
    let c = SshConfig::load(&main, dir.path()).unwrap();
    let r = c.resolve("core");
    let h = r.get("hostname").unwrap();
    assert_eq!(h.text(), "127.0.0.10", "included under `Host core`");
    assert!(h.pos.to_string().ends_with("conf.d/10-core:1"), "{}", h.pos);
    assert_eq!(r.get("user").unwrap().text(), "fromglob");
    assert!(c.resolve("other").get("hostname").is_none());
    assert_eq!(c.resolve("edge").get("port").unwrap().text(), "2300");
}

#[test]
fn malformed_files_are_located_errors() {
    for (text, line, says) in [
        ("Host a\n  Port twenty\n", 2, "is not a port"),
        ("Host a\n\n  HostName\n", 3, "needs a value"),
        ("ProxyCommand \"nc %h\n", 1, "never closed"),
        ("StrictHostKeyChecking maybe\n", 1, "accept-new"),
    ] {
        let e = SshConfig::parse(text, Path::new("cfg"), Path::new("/h")).unwrap_err();
        match &e {
            Error::Invalid { pos, message } => {
                assert_eq!(pos.line, line, "{e}");
                assert!(message.contains(says), "{e}");
            }
            other => panic!("{other}"),
        }
        assert!(e.to_string().starts_with(&format!("cfg:{line}: ")), "{e}");
    }
    let e = SshConfig::load(Path::new("/nonexistent/cfg"), Path::new("/h")).unwrap_err();
    assert!(
        e.to_string()
            .contains("cannot read ssh_config /nonexistent/cfg"),
        "{e}"
    );
}

#[test]
fn match_blocks_apply_to_no_host_with_a_warning() {
    let c = parse("Match user root\n  Port 1\nMatch all\n  Port 2\n");
    assert_eq!(c.resolve("x").get("port").unwrap().text(), "2");
    assert_eq!(c.warnings.len(), 1);
    assert!(c.warnings[0].contains("/lab/ssh_config:1: warning: `Match user root`"));
}

/// Property tests: any text parses or fails at a line of the file, and any
/// host name resolves without a panic (glob patterns included). 256 cases
/// per property; `PROPTEST_CASES=100000` for a longer local run.
mod props {
    use std::path::Path;

    use fanout_sshconfig::{Error, SshConfig, Tokens};
    use proptest::prelude::*;

    /// A line: a keyword (no `Include`: it would read files of this
    /// machine), separators, arguments with globs, quotes, tokens and
    /// arbitrary characters — or an arbitrary line.
    fn line() -> impl Strategy<Value = String> {
        let keyword = proptest::sample::select(vec![
            "Host",
            "Match",
            "HostName",
            "User",
            "Port",
            "IdentityFile",
            "ProxyJump",
            "ProxyCommand",
            "UserKnownHostsFile",
            "StrictHostKeyChecking",
            "KexAlgorithms",
            "HostKeyAlgorithms",
            "Ciphers",
            "MACs",
            "ConnectTimeout",
            "hOsT",
            "port",
            "Bogus",
        ]);
        let arg = prop_oneof![
            "[a-z0-9.*?!%~@:,+^-]{0,12}",
            "\"[a-z %*]{0,8}\"?",
            "[^\n]{0,10}",
            Just("%h:%p".to_string()),
            Just("!*".to_string()),
            Just("[::1]:22".to_string()),
        ];
        prop_oneof![
            4 => (
                keyword,
                proptest::sample::select(vec![" ", "\t", "=", " = ", "  "]),
                proptest::collection::vec(arg, 0..4),
            )
                .prop_map(|(k, sep, args)| format!("{k}{sep}{}", args.join(" "))),
            1 => "[^\n]{0,40}",
            1 => Just(String::new()),
            1 => "[ \t]*#[^\n]{0,20}",
        ]
    }

    fn text() -> impl Strategy<Value = String> {
        (
            proptest::collection::vec(line(), 0..30),
            proptest::sample::select(vec!["\n", "\r\n"]),
        )
            .prop_map(|(lines, eol)| lines.join(eol))
            .prop_filter("no Include", |t| {
                !t.to_ascii_lowercase().contains("include")
            })
    }

    proptest! {
        #[test]
        fn any_text_parses_or_fails_at_one_of_its_lines(
            text in text(),
            hosts in proptest::collection::vec("[a-z0-9.*?\\[\\]-]{0,16}", 1..6),
        ) {
            let home = Path::new("/nonexistent/fanout-props-home");
            match SshConfig::parse(&text, Path::new("/lab/ssh_config"), home) {
                Err(Error::Invalid { pos, message }) => {
                    let lines = text.split('\n').count();
                    prop_assert!(pos.line >= 1 && pos.line <= lines, "line {} of {lines}: {message}", pos.line);
                    prop_assert!(!message.is_empty());
                }
                Err(e) => prop_assert!(false, "only Invalid can come from text: {e}"),
                Ok(config) => {
                    for host in &hosts {
                        let r = config.resolve(host);
                        if let Some(v) = r.get("hostname") {
                            let tokens = Tokens { hostname: host, port: 22, user: Some("ops"), home };
                            let _ = r.expand(&v.text(), &v.pos, &tokens);
                        }
                        let _ = (r.identity_files(), r.known_hosts_files());
                    }
                }
            }
        }
    }
}
