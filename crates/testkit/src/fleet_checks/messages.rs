//! Message parity: the same device fault must give the same message on
//! every executor, not only the same error kind, apart from numbers (ports,
//! durations, byte counts).
//!
//! [`fault_matrix`] runs every fault knob of the simulator on an `exec` and
//! a `cli` task, plus the failures a user meets most (no username, no
//! credentials, an unreadable key file, a command the device rejects, a
//! wrong enable secret), and returns each host's outcome as one normalised
//! line ([`normalise`]). [`messages_match`] compares an executor's lines
//! with a reference executor's; the conformance macro runs it for every
//! executor that names a reference.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use fanout_core::{CliMode, HostOutcome, Job, Platform, Secret, Target, Task};
use fanout_sim::Fault;

use super::fixtures::{
    PASSWORD, SECRET, all_reported, cli_task, device, exec_task, ssh_job, start,
};
use crate::checks::{MakeExecutor, run_job};

/// Host name -> `status kind phase: message`, normalised.
pub type Messages = BTreeMap<String, String>;

/// `text` with every run of ASCII digits replaced by `N`, so that ports,
/// durations and byte counts do not count as differences.
pub fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_number = false;
    for c in text.chars() {
        if c.is_ascii_digit() {
            if !in_number {
                out.push('N');
            }
            in_number = true;
        } else {
            in_number = false;
            out.push(c);
        }
    }
    out
}

/// `text` with the content of every quote the dialog trimmed (`…"tail"`,
/// the last characters of a longer output) replaced by `…`: where a stream
/// that never ends was cut depends on timing, not on the executor.
pub fn mask_trimmed_quotes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("…\"") {
        out.push_str(&rest[..at]);
        out.push_str("…\"…\"");
        let quoted = &rest[at + "…\"".len()..];
        let mut escaped = false;
        let mut end = quoted.len();
        for (i, c) in quoted.char_indices() {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => {
                    end = i + 1;
                    break;
                }
                _ => escaped = false,
            }
        }
        rest = &quoted[end..];
    }
    out.push_str(rest);
    out
}

/// One outcome as the line [`Messages`] holds; `masks` replaces run-specific
/// text (the fleet's temporary directory) first.
fn line(o: &HostOutcome, masks: &[(String, &str)]) -> String {
    let mut s = format!("{}", o.status);
    if let Some(kind) = o.error_kind {
        let _ = write!(s, " {kind}");
    }
    if let Some(phase) = o.phase {
        let _ = write!(s, " {phase}");
    }
    if let Some(message) = &o.message {
        let _ = write!(s, ": {message}");
    }
    for (from, to) in masks {
        s = s.replace(from.as_str(), to);
    }
    normalise(&mask_trimmed_quotes(&s))
}

/// The device of fault `fault` for task `task` (`exec` or `cli`).
fn faulty(fault: Fault, task: &str) -> String {
    format!("{}-{task}", fault.as_str().replace('_', "-"))
}

/// Runs one job on `targets` and adds each outcome's line to `into`.
fn collect(
    make: MakeExecutor<'_>,
    job: &Job,
    targets: &[Target],
    masks: &[(String, &str)],
    into: &mut Messages,
) {
    let exec = make();
    let d = run_job(exec.as_ref(), job, targets, None, None);
    for (name, o) in all_reported(&d, targets) {
        let text = format!("{o:?} {}", o.message.as_deref().unwrap_or(""));
        assert!(
            !text.contains(PASSWORD) && !text.contains(SECRET),
            "{name}: a secret leaked into an outcome: {text}"
        );
        into.insert(name, line(&o, masks));
    }
}

/// Every fault knob on `exec` and `cli`, and the common mistakes, on the
/// executor `make` builds: each host's outcome as a normalised line.
pub fn fault_matrix(make: MakeExecutor<'_>) -> Messages {
    let with = |name: String, fault: Option<Fault>| {
        let mut d = device(&name, Platform::Ios);
        d.password = PASSWORD.into();
        d.secret = Some(SECRET.into());
        d.faults.extend(fault);
        d
    };
    let mut specs = Vec::new();
    for fault in Fault::ALL {
        for task in ["exec", "cli"] {
            specs.push(with(faulty(fault, task), Some(fault)));
        }
    }
    specs.push(with("clean".into(), None));
    let fleet = start(specs);
    let masks: Vec<(String, &str)> = fleet
        .known_hosts_path()
        .parent()
        .map(|dir| (dir.display().to_string(), "FLEET_DIR"))
        .into_iter()
        .collect();
    let all = fleet.targets();
    let of = |task: &str| -> Vec<Target> {
        let mut targets: Vec<Target> = all
            .iter()
            .filter(|t| t.name.ends_with(&format!("-{task}")))
            .cloned()
            .collect();
        for t in &mut targets {
            if t.name.starts_with("hang-on-connect") {
                t.timeouts.connect = Some(Duration::from_secs(1));
            }
        }
        targets
    };
    let clean = all
        .iter()
        .find(|t| t.name == "clean")
        .expect("the clean device")
        .clone();
    let mut mistakes = Vec::new();
    let mut no_user = clean.clone();
    no_user.name = "no-username".into();
    no_user.username = None;
    mistakes.push(no_user);
    let mut no_creds = clean.clone();
    no_creds.name = "no-credentials".into();
    no_creds.credentials = Default::default();
    mistakes.push(no_creds);
    let mut no_key = clean.clone();
    no_key.name = "missing-key-file".into();
    no_key.credentials.password = None;
    no_key.credentials.key_file = Some("/nonexistent/fanout-test/id_ed25519".into());
    mistakes.push(no_key);
    let mut wrong_password = clean.clone();
    wrong_password.name = "wrong-password".into();
    wrong_password.credentials.password = Some(Secret::new("wrong-pw-Kq8-never-printed"));
    mistakes.push(wrong_password);

    let concurrency = all.len() + mistakes.len();
    let job = |task: Task| {
        let mut job = ssh_job(task, &fleet, concurrency);
        // The legacy device's classic Diffie-Hellman costs ~0.7 s of CPU on
        // each side in a debug build; the box is shared.
        job.timeouts.connect = Some(Duration::from_secs(6));
        job.timeouts.command = Some(Duration::from_millis(1000));
        job
    };
    let mut messages = Messages::new();
    let mut exec_targets = of("exec");
    exec_targets.extend(mistakes);
    collect(
        make,
        &job(exec_task("show version")),
        &exec_targets,
        &masks,
        &mut messages,
    );
    collect(
        make,
        &job(cli_task(&["show version"], CliMode::User)),
        &of("cli"),
        &masks,
        &mut messages,
    );
    let renamed = |name: &str| {
        let mut t = clean.clone();
        t.name = name.into();
        vec![t]
    };
    collect(
        make,
        &job(exec_task("show fanout-no-such-thing")),
        &renamed("rejected-exec"),
        &masks,
        &mut messages,
    );
    collect(
        make,
        &job(cli_task(&["show fanout-no-such-thing"], CliMode::User)),
        &renamed("rejected-cli"),
        &masks,
        &mut messages,
    );
    let mut wrong_secret = renamed("wrong-secret");
    wrong_secret[0].secret = Some(Secret::new("wrong-en-Lp3-never-printed"));
    collect(
        make,
        &job(cli_task(&["show privilege"], CliMode::Enable)),
        &wrong_secret,
        &masks,
        &mut messages,
    );
    messages
}

/// Panics, listing every host whose line differs, unless `got` (of
/// executor `name`) says what `reference` (of `reference_name`) says.
pub fn assert_same_messages(
    reference_name: &str,
    reference: &Messages,
    name: &str,
    got: &Messages,
) {
    let mut differ = String::new();
    let hosts: std::collections::BTreeSet<&String> = reference.keys().chain(got.keys()).collect();
    let none = String::from("(no outcome)");
    for host in hosts {
        let (want, have) = (
            reference.get(host).unwrap_or(&none),
            got.get(host).unwrap_or(&none),
        );
        if want != have {
            let _ = write!(
                differ,
                "\n  {host}:\n    {reference_name}: {want}\n    {name}: {have}"
            );
        }
    }
    assert!(
        differ.is_empty(),
        "the same faults give different messages on {reference_name} and {name} (digits masked):{differ}"
    );
}

/// The fault matrix on `make`'s executor says, host by host, what it says
/// on `reference`'s (digits masked).
pub fn messages_match(make: MakeExecutor<'_>, reference: MakeExecutor<'_>) {
    let (reference_name, name) = (reference().name().to_string(), make().name().to_string());
    let want = fault_matrix(reference);
    let got = fault_matrix(make);
    assert_same_messages(&reference_name, &want, &name, &got);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_masked_and_differences_listed() {
        assert_eq!(
            normalise("could not connect to 127.0.0.1:2201 after 1.5s"),
            "could not connect to N.N.N.N:N after N.Ns"
        );
        let mut a = Messages::new();
        a.insert("r1".into(), "failed connect: refused".into());
        let mut b = a.clone();
        assert_same_messages("seq", &a, "async", &b);
        b.insert("r1".into(), "failed connect: Connection refused".into());
        let err = std::panic::catch_unwind(|| assert_same_messages("seq", &a, "async", &b))
            .expect_err("a different text is caught");
        let text = err.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(
            text.contains("r1:") && text.contains("Connection refused"),
            "{text}"
        );
        assert_eq!(
            mask_trimmed_quotes(r#"last output was …"ab\"c" and "kept""#),
            r#"last output was …"…" and "kept""#
        );
    }
}
