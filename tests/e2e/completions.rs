//! `fanout completions SHELL`, `fanout man`, `fanout --version`.

use std::process::Command;

use crate::support::run;

#[test]
fn completion_scripts_name_every_subcommand_and_bash_accepts_its_own() {
    for (shell, marker) in [
        ("bash", "_fanout()"),
        ("zsh", "#compdef fanout"),
        ("fish", "complete -c fanout"),
    ] {
        let r = run(&["completions", shell]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(
            r.stdout.contains(marker),
            "{shell}: {}",
            &r.stdout[..200.min(r.stdout.len())]
        );
        // (fish names long options without their dashes)
        for word in [
            "run",
            "diff",
            "inventory",
            "compare",
            "completions",
            "diff-against",
            "parse",
        ] {
            assert!(r.stdout.contains(word), "{shell} script lacks {word}");
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let script = tmp.path().join("fanout.bash");
    std::fs::write(&script, run(&["completions", "bash"]).stdout).unwrap();
    if let Ok(out) = Command::new("bash").arg("-n").arg(&script).output() {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let r = run(&["completions", "tcsh"]);
    assert_eq!(r.code, 2);
}

#[test]
fn man_pages_come_from_the_same_command_as_help() {
    let r = run(&["man"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.starts_with(".ie \\n(.g .ds Aq"),
        "{}",
        &r.stdout[..200]
    );
    assert!(r.stdout.contains(".TH fanout 1"), "{}", &r.stdout[..400]);
    assert!(
        r.stdout.contains("fanout\\-diff") || r.stdout.contains("diff"),
        "subcommands listed"
    );

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("man1");
    let r = run(&["man", "--dir", dir.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for page in [
        "fanout.1",
        "fanout-run.1",
        "fanout-diff.1",
        "fanout-inventory-check.1",
    ] {
        assert!(dir.join(page).is_file(), "{page} missing");
    }
    assert!(
        !dir.join("fanout-worker.1").exists(),
        "hidden commands get no page"
    );
    let run_page = std::fs::read_to_string(dir.join("fanout-run.1")).unwrap();
    assert!(run_page.contains("diff\\-against"), "options documented");
}

#[test]
fn version_names_the_ssh_libraries_in_use() {
    let r = run(&["--version"]);
    assert_eq!(r.code, 0);
    let line = r.stdout.trim_end();
    // fanout 0.1.0 (ssh2 0.9.6 / libssh2 1.11.2_DEV, OpenSSL 3.0.19; russh 0.65.1 patched)
    let rest = line.strip_prefix(&format!("fanout {} (ssh2 0.9.", env!("CARGO_PKG_VERSION")));
    let rest = rest.unwrap_or_else(|| panic!("{line}"));
    assert!(rest.contains(" / libssh2 1."), "{line}");
    assert!(
        rest.contains(", OpenSSL 3.") || rest.contains(", OpenSSL 1."),
        "{line}"
    );
    assert!(
        rest.contains("; russh 0.65.") && rest.ends_with(')'),
        "{line}"
    );
    // The OpenSSL named is the one on this system, read from the library.
    if let Ok(out) = Command::new("openssl").arg("version").output() {
        let system = String::from_utf8_lossy(&out.stdout);
        let version = system.split_whitespace().nth(1).unwrap_or("?");
        assert!(
            line.contains(&format!("OpenSSL {version};")),
            "{line} vs {system}"
        );
    }
}
