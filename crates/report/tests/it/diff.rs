//! Diffs between two output folders (`fanout diff`) and against live
//! outcomes (`--diff-against`).

use std::fs;
use std::path::Path;

use fanout_core::{ErrorKind, HostOutcome, Status, Worker};
use fanout_report::{Change, OutDir, RunDiff, Snapshot};

use crate::{ok, summary};

fn write_run(dir: &Path, outcomes: &[HostOutcome]) {
    let mut out = OutDir::create(dir).unwrap();
    for o in outcomes {
        out.host(o).unwrap();
    }
    out.finish(&summary()).unwrap();
}

fn two_runs(tmp: &Path) -> (Snapshot, Snapshot) {
    write_run(
        &tmp.join("old"),
        &[
            ok("r1", "show clock", "10:00:00 UTC\nline 2\n"),
            ok("r2", "show clock", "same\n"),
            ok("r10", "show clock", "gone\n"),
            ok("r3", "show clock", "x\n"),
        ],
    );
    let mut failed = HostOutcome::failed("r3", ErrorKind::Auth, "denied", Worker::Task(0));
    failed.outputs = ok("r3", "show clock", "x\n").outputs;
    write_run(
        &tmp.join("new"),
        &[
            ok("r2", "show clock", "same\n"),
            ok("r1", "show clock", "10:00:05 UTC\nline 2\n"),
            failed,
            ok("r4", "show clock", "new\n"),
        ],
    );
    (
        Snapshot::load(&tmp.join("old")).unwrap(),
        Snapshot::load(&tmp.join("new")).unwrap(),
    )
}

#[test]
fn folders_diff_per_host_in_name_order() {
    let tmp = tempfile::tempdir().unwrap();
    let (old, new) = two_runs(tmp.path());
    let d = RunDiff::between("old", &old, "new", &new);
    let got: Vec<(&str, Change)> = d
        .hosts
        .iter()
        .map(|h| (h.host.as_str(), h.change))
        .collect();
    assert_eq!(
        got,
        [
            ("r1", Change::Changed),
            ("r2", Change::Same),
            ("r3", Change::Changed),
            ("r4", Change::Added),
            ("r10", Change::Removed),
        ]
    );
    assert!(d.has_differences());
    let r3 = &d.hosts[2];
    assert_eq!(
        (r3.old_status, r3.new_status, r3.unified.is_none()),
        (Some(Status::Ok), Some(Status::Failed), true)
    );

    let mut buf = Vec::new();
    d.write(&mut buf, false).unwrap();
    let text = String::from_utf8(buf).unwrap();
    let old_file = tmp.path().join("old/r1.txt");
    let new_file = tmp.path().join("new/r1.txt");
    let want = format!(
        "r1: output changed\n\
         --- {}\n\
         +++ {}\n\
         @@ -1,2 +1,2 @@\n\
         -10:00:00 UTC\n\
         +10:00:05 UTC\n \
         line 2\n\
         r3: status ok -> failed\n\
         r4: only in new (ok)\n\
         r10: only in old (ok)\n\
         2 hosts changed, 1 only in new, 1 only in old, 1 same\n",
        old_file.display(),
        new_file.display()
    );
    assert_eq!(text, want);
    // Colour is only added when asked for.
    assert!(!text.contains('\x1b'));
    let mut coloured = Vec::new();
    d.write(&mut coloured, true).unwrap();
    let coloured = String::from_utf8(coloured).unwrap();
    assert!(
        coloured.contains("\x1b[31m-10:00:00 UTC\x1b[0m"),
        "{coloured}"
    );
}

#[test]
fn a_run_against_itself_has_no_differences() {
    let tmp = tempfile::tempdir().unwrap();
    let (old, _) = two_runs(tmp.path());
    let d = RunDiff::between("a", &old, "b", &old);
    assert!(!d.has_differences());
    assert_eq!(
        d.count_line(),
        "0 hosts changed, 0 only in b, 0 only in a, 4 same"
    );
}

#[test]
fn live_outcomes_diff_against_a_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let (old, _) = two_runs(tmp.path());
    let live = Snapshot::from_outcomes("this run", &[ok("r2", "show clock", "changed\n")]);
    let d = RunDiff::between("old", &old, "this run", &live);
    let r2 = d.hosts.iter().find(|h| h.host == "r2").unwrap();
    assert_eq!(r2.change, Change::Changed);
    let unified = r2.unified.as_deref().unwrap();
    assert!(
        unified.contains("+++ this run/r2\n") && unified.contains("-same\n+changed\n"),
        "{unified}"
    );
    assert_eq!(d.counts().removed, 3);
}

#[test]
fn folders_that_are_not_fanout_outputs_are_refused_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let err = Snapshot::load(tmp.path()).unwrap_err().to_string();
    assert!(
        err.contains("not a fanout output folder (no summary.json)"),
        "{err}"
    );

    fs::write(tmp.path().join("summary.json"), "{\n  \"hosts\": [,\n}").unwrap();
    let err = Snapshot::load(tmp.path()).unwrap_err().to_string();
    assert!(err.contains("invalid JSON at line 2 column"), "{err}");

    fs::write(tmp.path().join("summary.json"), "{\"hosts\": []}").unwrap();
    let err = Snapshot::load(tmp.path()).unwrap_err().to_string();
    assert!(err.contains("no \"files\" object"), "{err}");

    fs::write(
        tmp.path().join("summary.json"),
        r#"{"files": {"r1": "../etc"}}"#,
    )
    .unwrap();
    let err = Snapshot::load(tmp.path()).unwrap_err().to_string();
    assert!(
        err.contains("\"files\" entry of r1 is not a file name"),
        "{err}"
    );

    fs::write(
        tmp.path().join("summary.json"),
        r#"{"files": {"r1": "r1.txt"}}"#,
    )
    .unwrap();
    let err = Snapshot::load(tmp.path()).unwrap_err().to_string();
    assert!(err.contains("r1.txt"), "{err}");
}
