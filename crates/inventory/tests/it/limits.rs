//! Hostile or extreme input: huge and invalid numbers, long group chains,
//! deep nesting, huge names. Each gives an error (or a result), never a
//! panic or a stack overflow, and suggestions do not depend on hash order.

use std::fmt::Write as _;
use std::time::Duration;

use super::{FILE, assert_error, error, parse, y};

/// One host whose `timeouts.command` is `value` (at 1:55).
fn command_timeout(value: &str) -> String {
    format!("hosts: {{r1: {{hostname: 127.0.0.1, timeouts: {{command: {value}}}}}}}\n")
}

#[test]
fn huge_timeout_is_an_error_with_its_position() {
    assert_error(
        &command_timeout("1e30"),
        1,
        55,
        &["`timeouts.command`: timeout `1e30` is out of range; use e.g. 30s"],
    );
}

#[test]
fn timeouts_out_of_range_never_panic() {
    for value in [
        "-5",
        "-0.5",
        "1e30",
        "1e300",
        "-1e300",
        "inf",
        "-inf",
        "infinity",
        "NaN",
        "3153600001",
        "500000000000y",
        "101y",
        "\"5000000000 weeks\"",
        "99999999999999999999999s",
        // Sums to u64::MAX seconds with a full second of nanoseconds: the
        // point where humantime's `Duration::new` would panic.
        "\"18446744073709551615s 999999999ns 1ns\"",
        "\"584542046090y 1ns\"",
    ] {
        let (text, locations) = error(&command_timeout(value));
        assert_eq!(locations, [(1, 55)], "{value}: {text}");
        assert!(
            text.contains("is out of range; use e.g. 30s"),
            "{value}: {text}"
        );
    }
}

#[test]
fn malformed_timeouts_are_errors() {
    for value in [
        ".nan",
        ".inf",
        "\"1.0e30s\"",
        "\"-1.5s\"",
        "\"1e3s\"",
        "\"5 fortnights\"",
    ] {
        let (text, locations) = error(&command_timeout(value));
        assert_eq!(locations, [(1, 55)], "{value}: {text}");
        assert!(text.contains("`timeouts.command`"), "{value}: {text}");
    }
}

#[test]
fn long_timeouts_up_to_100_years_are_accepted() {
    assert_eq!(fanout_core::MAX_DURATION.as_secs(), 3_153_600_000);
    for (value, secs) in [
        ("3153600000", 3_153_600_000),
        ("\"3153600000s\"", 3_153_600_000),
        ("\"99y 11M\"", 99 * 31_557_600 + 11 * 2_630_016),
        ("\"1.5s\"", 1),
        ("\"250000000000ns\"", 250),
    ] {
        let inv = parse(&command_timeout(value));
        let got = inv.targets[0].timeouts.command.unwrap_or_default();
        assert_eq!(got.as_secs(), secs, "{value}");
    }
    let inv = parse(&command_timeout("\"1.5s\""));
    assert_eq!(
        inv.targets[0].timeouts.command,
        Some(Duration::from_millis(1500))
    );
}

#[test]
fn scrapli_timeouts_are_checked_too() {
    assert_error(
        &y("
            - {host: 127.0.0.1, timeout_ops: 1e30}
        "),
        1,
        34,
        &["`timeout_ops`: timeout `1e30` is out of range"],
    );
}

#[test]
fn huge_ports_are_errors() {
    for value in [
        "99999999999999999999999999999",
        "-99999999999999999999999999999",
        "+70000",
    ] {
        let (text, locations) = error(&format!("- {{host: 127.0.0.1, port: {value}}}\n"));
        assert_eq!(locations, [(1, 27)], "{value}: {text}");
        assert!(text.contains("out of range"), "{value}: {text}");
    }
}

/// Two groups equally close to the misspelt one: the one first in the
/// file is suggested, on every run (a hash map would pick at random).
#[test]
fn suggestions_prefer_file_order() {
    for (first, second) in [("corea", "coreb"), ("coreb", "corea")] {
        let yaml = y(&format!(
            "
            groups:
              {first}: {{}}
              {second}: {{}}
              edge: {{groups: [corex]}}
            hosts:
              r1: {{hostname: 127.0.0.1, groups: [corex]}}
            "
        ));
        for _ in 0..20 {
            let (text, _) = error(&yaml);
            let expected = format!("did you mean `{first}`?");
            assert_eq!(text.matches(&expected).count(), 2, "{text}");
        }
    }
}

/// A chain of parent groups far deeper than a small stack allows recursion.
#[test]
fn long_group_chains_do_not_overflow_the_stack() {
    const N: usize = 20_000;
    let mut yaml = String::from("groups:\n");
    for i in 0..N {
        writeln!(yaml, "  g{i}: {{groups: [g{}]}}", i + 1).unwrap();
    }
    writeln!(yaml, "  g{N}: {{hostname: 127.0.0.1}}").unwrap();
    yaml.push_str("hosts:\n  r1: {groups: [g0]}\n");
    // The same chain closed into a cycle.
    let cyclic = yaml.replace(
        &format!("  g{N}: {{hostname"),
        &format!("  g{N}: {{groups: [g0], hostname"),
    );
    // 512 KiB: 20,000 nested calls of any size would not fit.
    let small_stack = std::thread::Builder::new().stack_size(512 * 1024);
    let run = small_stack
        .spawn(move || (parse(&yaml), error(&cyclic)))
        .unwrap();
    let (inv, (text, locations)) = run.join().expect("no stack overflow");
    assert_eq!(inv.targets[0].groups.len(), N + 1);
    assert_eq!(inv.targets[0].address, "127.0.0.1");
    // One problem, with a bounded message.
    assert_eq!(locations.len(), 1, "{}", &text[..text.len().min(500)]);
    assert!(text.contains("groups form a cycle: g0 -> g1"), "{text}");
    assert!(
        text.contains(&format!("({} groups in all) -> g0", N + 1)),
        "{text}"
    );
    assert!(text.len() < 500, "{text}");
}

#[test]
fn deep_nesting_is_a_syntax_error_not_a_crash() {
    for depth in [200, 300, 10_000] {
        let yaml = format!(
            "hosts: {{r1: {{hostname: 127.0.0.1, vars: {{x: {}{}}}}}}}\n",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        let (text, _) = error(&yaml);
        assert!(text.starts_with(&format!("{FILE}:1:")), "{text}");
    }
}

#[test]
fn nested_anchors_count_against_the_budget() {
    // Each of 200 nested anchors would keep its own copy of 20,000 values:
    // 4 million, twice what aliases may add.
    let mut yaml = String::from("hosts: {r1: {hostname: 127.0.0.1}}\nx: ");
    for i in 0..200 {
        write!(yaml, "&a{i} [").unwrap();
    }
    yaml.push_str(&["1"; 20_000].join(", "));
    yaml.push_str(&"]".repeat(200));
    yaml.push('\n');
    let (text, _) = error(&yaml);
    assert!(
        text.contains("anchors and aliases add more than 2000000 values"),
        "{text}"
    );
}

#[test]
fn huge_names_get_no_suggestion_and_no_slowdown() {
    let name = "c".repeat(200_000);
    let yaml = format!(
        "groups: {{{name}x: {{}}}}\nhosts: {{r1: {{hostname: 127.0.0.1, groups: [{name}y]}}}}\n"
    );
    let (text, locations) = error(&yaml);
    assert_eq!(locations.len(), 1);
    assert!(!text.contains("did you mean"));
}

/// A "billion laughs": nine levels of ten aliases each would expand to a
/// billion values; it is refused by the alias limit, quickly.
#[test]
fn alias_bombs_are_refused() {
    let mut yaml = String::from(
        "hosts: {r1: {hostname: 127.0.0.1}}\nx0: &x0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
    );
    for i in 1..10 {
        let p = i - 1;
        writeln!(
            yaml,
            "x{i}: &x{i} [*x{p}, *x{p}, *x{p}, *x{p}, *x{p}, *x{p}, *x{p}, *x{p}, *x{p}, *x{p}]"
        )
        .unwrap();
    }
    let start = std::time::Instant::now();
    let (text, locations) = error(&yaml);
    assert_eq!(locations.len(), 1, "{text}");
    assert!(
        text.contains("anchors and aliases add more than 2000000 values"),
        "{text}"
    );
    assert!(
        text.contains("(the limit for what aliases expand to, apart from the values written out)"),
        "{text}"
    );
    // Generous: the refusal comes after 2 million copied values, not a billion.
    assert!(start.elapsed() < Duration::from_secs(60));
}

/// 1,100,000 values written out (100,000 hosts) were over the old single
/// limit of 1,000,000; written values no longer count against aliases.
#[test]
fn a_million_written_values_are_not_an_alias_bomb() {
    let mut yaml = String::from("defaults: &d {username: admin}\nhosts:\n");
    for i in 0..100_000 {
        writeln!(
            yaml,
            "  r{i}: {{hostname: 127.0.0.1, port: {}, vars: {{site: lon}}}}",
            1 + i % 60_000
        )
        .unwrap();
    }
    let inv = parse(&yaml);
    assert_eq!(inv.targets.len(), 100_000);
}
