//! What a host's ssh_config makes the SSH transports do, on every
//! executor: the legacy algorithms a connection agreed on are recorded in
//! the outcome (`legacy_algorithms`) and counted in the summary
//! (`legacy_hosts`); a `KexAlgorithms` list is what is offered (without
//! SHA-1 a SHA-1-only device is refused, naming both offers); and a
//! host's own known_hosts files (`UserKnownHostsFile`) are checked.

use fanout_core::{ErrorKind, HostKeyPolicy, Platform, Status, Target};
use fanout_sim::Fault;

use super::fixtures::{PASSWORD, all_reported, device, exec_task, outcome, ssh_job, start};
use crate::checks::{MakeExecutor, run_job};

/// A copy of `t` named `name` (the same device, another host entry).
fn alias(t: &Target, name: &str) -> Target {
    let mut t = t.clone();
    t.name = name.into();
    t
}

/// A legacy device (SHA-1 kex, CBC, hmac-sha1) and a modern one: the
/// legacy one's outcome lists the SHA-1 kex and MAC it needed, the modern
/// one's lists nothing, the summary counts one legacy host; the legacy
/// device reached by a host whose `KexAlgorithms` removes every SHA-1
/// key exchange fails `protocol`, naming what the device offered and the
/// host's list; one whose list names an unknown algorithm fails
/// `invalid_target` before connecting.
pub fn legacy_algorithms_are_recorded(make: MakeExecutor<'_>) {
    let exec = make();
    let mut legacy = device("legacy", Platform::Ios);
    legacy.faults.insert(Fault::LegacyAlgorithms);
    legacy.password = PASSWORD.into();
    let mut modern = device("modern", Platform::Ios);
    modern.password = PASSWORD.into();
    let fleet = start(vec![legacy, modern]);
    let mut targets = fleet.targets();
    let legacy_t = targets
        .iter()
        .find(|t| t.name == "legacy")
        .cloned()
        .expect("the fleet has the legacy device");
    let mut no_sha1 = alias(&legacy_t, "legacy-no-sha1");
    no_sha1.reach.kex_algorithms =
        Some("-diffie-hellman-group*-sha1,diffie-hellman-group-exchange-sha1".into());
    no_sha1.reach.sources.insert(
        "kex_algorithms".into(),
        "ssh_config /lab/ssh_config:7".into(),
    );
    let mut unknown = alias(&legacy_t, "legacy-unknown");
    unknown.reach.macs = Some("+hmac-sha9-nope".into());
    targets.push(no_sha1);
    targets.push(unknown);
    let mut job = ssh_job(exec_task("show version"), &fleet, targets.len());
    // The legacy device's classic Diffie-Hellman costs ~0.7 s of CPU on
    // each side in a debug build, and the box is shared.
    job.timeouts.connect = Some(std::time::Duration::from_secs(20));
    let d = run_job(exec.as_ref(), &job, &targets, None, None);
    let by = all_reported(&d, &targets);

    let o = outcome(&by, "legacy");
    assert_eq!(o.status, Status::Ok, "legacy: must be reached: {o:?}");
    let sha1_kex = [
        "diffie-hellman-group14-sha1",
        "diffie-hellman-group-exchange-sha1",
        "diffie-hellman-group1-sha1",
    ];
    assert!(
        o.legacy_algorithms
            .iter()
            .any(|a| sha1_kex.contains(&a.as_str())),
        "legacy: its SHA-1 key exchange must be recorded: {:?}",
        o.legacy_algorithms
    );
    assert!(
        o.legacy_algorithms.iter().any(|a| a == "hmac-sha1"),
        "legacy: its hmac-sha1 must be recorded: {:?}",
        o.legacy_algorithms
    );
    assert!(
        o.legacy_algorithms
            .iter()
            .any(|a| a == "aes128-cbc" || a == "3des-cbc"),
        "legacy: its CBC cipher must be recorded: {:?}",
        o.legacy_algorithms
    );
    let o = outcome(&by, "modern");
    assert_eq!(o.status, Status::Ok, "modern: {o:?}");
    assert!(
        o.legacy_algorithms.is_empty(),
        "modern: a modern device needs no legacy algorithm: {:?}",
        o.legacy_algorithms
    );
    assert_eq!(
        d.summary().legacy_hosts,
        1,
        "the summary counts the hosts that needed legacy algorithms"
    );

    let o = outcome(&by, "legacy-no-sha1");
    assert_eq!(
        (o.status, o.error_kind),
        (Status::Failed, Some(ErrorKind::Protocol)),
        "legacy-no-sha1: a KexAlgorithms without SHA-1 cannot reach a SHA-1-only device: {o:?}"
    );
    let m = o.message.as_deref().unwrap_or_default();
    assert!(
        m.contains("the device offered") && m.contains("diffie-hellman-group14-sha1"),
        "legacy-no-sha1: the message names what the device offered: {m}"
    );
    assert!(
        m.contains("KexAlgorithms `-diffie-hellman-group*-sha1") && m.contains("/lab/ssh_config:7"),
        "legacy-no-sha1: the message names the host's list and where it was set: {m}"
    );
    assert!(
        o.legacy_algorithms.is_empty(),
        "legacy-no-sha1: nothing was agreed on: {o:?}"
    );

    let o = outcome(&by, "legacy-unknown");
    assert_eq!(
        (o.status, o.error_kind, o.timings.connect),
        (
            Status::Failed,
            Some(ErrorKind::InvalidTarget),
            std::time::Duration::ZERO
        ),
        "legacy-unknown: an unknown MAC fails before connecting: {o:?}"
    );
    let m = o.message.as_deref().unwrap_or_default();
    assert!(
        m.contains("MACs `+hmac-sha9-nope` for host legacy-unknown")
            && m.contains("`hmac-sha9-nope`, which fanout's")
            && m.contains("does not support"),
        "legacy-unknown: {m}"
    );
}

/// A host whose own known_hosts files (`UserKnownHostsFile`) hold the
/// device's key is verified under strict host keys although the run has no
/// known_hosts file; the same device without them is refused (`host_key`).
pub fn user_known_hosts_file_is_checked(make: MakeExecutor<'_>) {
    let exec = make();
    let fleet = start(vec![
        device("r1", Platform::Ios),
        device("r2", Platform::Eos),
    ]);
    let mut targets = fleet.targets();
    let own = fleet.known_hosts_path().to_path_buf();
    for t in &mut targets {
        t.reach.known_hosts = vec!["/nonexistent/known_hosts".into(), own.clone()];
    }
    let bare = alias(&targets[0], "r1-bare");
    let mut bare = bare;
    bare.reach.known_hosts.clear();
    targets.push(bare);
    let mut job = ssh_job(exec_task("show version"), &fleet, targets.len());
    job.known_hosts.clear();
    job.host_keys = HostKeyPolicy::Strict;
    let d = run_job(exec.as_ref(), &job, &targets, None, None);
    let by = all_reported(&d, &targets);
    for name in ["r1", "r2"] {
        let o = outcome(&by, name);
        assert_eq!(
            o.status,
            Status::Ok,
            "{name}: its own known_hosts file has the key: {o:?}"
        );
    }
    let o = outcome(&by, "r1-bare");
    assert_eq!(
        (o.status, o.error_kind),
        (Status::Failed, Some(ErrorKind::HostKey)),
        "r1-bare: without its own known_hosts file the key is unknown: {o:?}"
    );
}
