//! Host-key policies (strict, accept-new) and key-file authentication,
//! plain and encrypted.

use fanout_core::{ErrorKind, HostKeyPolicy, Platform, Secret, Status};
use fanout_sim::Fleet;

use super::fixtures::{all_reported, device, exec_task, outcome, ssh_job, start};
use crate::checks::{MakeExecutor, run_job};

/// Strict host keys with an empty known_hosts refuse every device
/// (`host_key`, saying what to do); `accept-new` succeeds and appends the
/// keys; a later strict run with that file succeeds.
pub fn host_keys_strict_and_accept_new(make: MakeExecutor<'_>) {
    let exec = make();
    let fleet = start(vec![
        device("k1", Platform::Ios),
        device("k2", Platform::Eos),
    ]);
    let targets = fleet.targets();
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let known = dir.path().join("known_hosts");
    std::fs::write(&known, "").expect("write an empty known_hosts");
    let mut job = ssh_job(exec_task("show version"), &fleet, 2);
    job.known_hosts = vec![known.clone()];

    let d = run_job(exec.as_ref(), &job, &targets, None, None);
    let by = all_reported(&d, &targets);
    for t in &targets {
        let o = outcome(&by, &t.name);
        assert_eq!(
            (o.status, o.error_kind),
            (Status::Failed, Some(ErrorKind::HostKey)),
            "{}: strict with an unknown key must fail host_key: {o:?}",
            t.name
        );
        let message = o.message.as_deref().unwrap_or("");
        assert!(
            message.contains(&t.port.to_string()),
            "{}: the message must name the host and port: {message}",
            t.name
        );
    }
    assert_eq!(
        std::fs::read_to_string(&known).unwrap_or_default(),
        "",
        "strict must never write known_hosts"
    );

    job.host_keys = HostKeyPolicy::AcceptNew;
    let d = run_job(exec.as_ref(), &job, &targets, None, None);
    let by = all_reported(&d, &targets);
    let written = std::fs::read_to_string(&known).unwrap_or_default();
    for t in &targets {
        let o = outcome(&by, &t.name);
        assert_eq!(o.status, Status::Ok, "{}: accept-new: {o:?}", t.name);
        assert!(
            written.contains(&format!("[{}]:{} ", t.address, t.port)),
            "accept-new must append {}'s key in OpenSSH format; file:\n{written}",
            t.name
        );
    }

    job.host_keys = HostKeyPolicy::Strict;
    let d = run_job(exec.as_ref(), &job, &targets, None, None);
    let by = all_reported(&d, &targets);
    for t in &targets {
        let o = outcome(&by, &t.name);
        assert_eq!(
            o.status,
            Status::Ok,
            "{}: strict with the keys accept-new wrote: {o:?}",
            t.name
        );
    }
    assert_eq!(
        std::fs::read_to_string(&known).unwrap_or_default(),
        written,
        "known keys must not be appended again"
    );
}

/// Authentication with the fleet's client key file only (no password).
pub fn key_file_auth(make: MakeExecutor<'_>) {
    let exec = make();
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let key = dir.path().join("client_key");
    let fleet = Fleet::builder()
        .specs(vec![
            device("key1", Platform::Ios),
            device("key2", Platform::Nxos),
        ])
        .client_key_out(&key)
        .start()
        .unwrap_or_else(|e| panic!("the simulated fleet did not start: {e}"));
    assert_eq!(fleet.client_key_path(), Some(key.as_path()));
    let mut targets = fleet.targets();
    for t in &mut targets {
        assert_eq!(t.credentials.key_file.as_deref(), Some(key.as_path()));
        t.credentials.password = None;
    }
    let before = fleet.stats();
    let job = ssh_job(exec_task("show version"), &fleet, 2);
    let d = run_job(exec.as_ref(), &job, &targets, None, None);
    let by = all_reported(&d, &targets);
    for t in &targets {
        let o = outcome(&by, &t.name);
        assert_eq!(o.status, Status::Ok, "{}: key-file auth: {o:?}", t.name);
    }
    let after = fleet.stats();
    assert_eq!(
        after.logins - before.logins,
        2,
        "each host logs in once: {after:?}"
    );

    // The same key, encrypted with a passphrase (by ssh-keygen, as a user
    // would): loaded with the target's key_passphrase.
    let encrypted = dir.path().join("client_key_encrypted");
    std::fs::copy(&key, &encrypted).expect("copy the client key");
    let passphrase = "kp-Vb9-never-printed";
    let encrypted_ok = std::process::Command::new("ssh-keygen")
        .args(["-q", "-p", "-P", "", "-N", passphrase, "-f"])
        .arg(&encrypted)
        .stdin(std::process::Stdio::null())
        .output();
    match encrypted_ok {
        Ok(out) if out.status.success() => {
            for t in &mut targets {
                t.credentials.key_file = Some(encrypted.clone());
                t.credentials.key_passphrase = Some(Secret::new(passphrase));
            }
            let d = run_job(exec.as_ref(), &job, &targets, None, None);
            let by = all_reported(&d, &targets);
            for t in &targets {
                let o = outcome(&by, &t.name);
                assert_eq!(
                    o.status,
                    Status::Ok,
                    "{}: auth with an encrypted key file and its passphrase: {o:?}",
                    t.name
                );
                let text = format!("{o:?} {}", o.message.as_deref().unwrap_or(""));
                assert!(
                    !text.contains(passphrase),
                    "the key passphrase leaked: {text}"
                );
            }
        }
        Ok(out) => panic!(
            "ssh-keygen could not encrypt the test key: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => eprintln!("ssh-keygen not available ({e}): encrypted-key check skipped"),
    }
}
