//! The end of the table: the hosts that were not ok, grouped by why
//! (`auth`, `connect`, `timeout in command`, `cancelled`, ...), each group
//! with its count and its first few names, so a run of 5,000 hosts says in
//! a few lines what went wrong where.

use std::io::{self, Write};

use fanout_core::{HostOutcome, Status};

/// Names shown per group; the rest are counted.
const NAMES_SHOWN: usize = 5;

/// One reason hosts were not ok.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailureGroup {
    /// The error kind as in the JSON (`auth`), `timeout in PHASE` for a
    /// timeout, `cancelled`.
    pub kind: String,
    /// Hosts of this kind, in the order they completed.
    pub hosts: Vec<String>,
}

/// Why `o` was not ok, or `None` if it was.
fn kind_of(o: &HostOutcome) -> Option<String> {
    Some(match o.status {
        Status::Ok => return None,
        Status::Cancelled => "cancelled".to_string(),
        Status::Timeout => match o.phase {
            Some(phase) => format!("timeout in {phase}"),
            None => "timeout".to_string(),
        },
        Status::Failed => o
            .error_kind
            .map_or_else(|| "failed".to_string(), |k| k.as_str().to_string()),
    })
}

/// The not-ok hosts of `outcomes` by kind, largest group first (ties by
/// kind, so the report does not depend on completion order).
pub fn failure_groups(outcomes: &[HostOutcome]) -> Vec<FailureGroup> {
    let mut groups: Vec<FailureGroup> = Vec::new();
    for o in outcomes {
        let Some(kind) = kind_of(o) else { continue };
        match groups.iter_mut().find(|g| g.kind == kind) {
            Some(g) => g.hosts.push(o.host.clone()),
            None => groups.push(FailureGroup {
                kind,
                hosts: vec![o.host.clone()],
            }),
        }
    }
    groups.sort_by(|a, b| b.hosts.len().cmp(&a.hosts.len()).then(a.kind.cmp(&b.kind)));
    groups
}

/// Writes `not ok, by kind:` and a line per group (`  auth: 2 (r3, r7)`),
/// nothing when every host was ok.
pub fn write_failures(out: &mut dyn Write, outcomes: &[HostOutcome]) -> io::Result<()> {
    let groups = failure_groups(outcomes);
    if groups.is_empty() {
        return Ok(());
    }
    writeln!(out, "not ok, by kind:")?;
    for g in &groups {
        let shown = g.hosts[..g.hosts.len().min(NAMES_SHOWN)].join(", ");
        let more = g.hosts.len().saturating_sub(NAMES_SHOWN);
        let more = if more > 0 {
            format!(", ... {more} more")
        } else {
            String::new()
        };
        writeln!(out, "  {}: {} ({shown}{more})", g.kind, g.hosts.len())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use fanout_core::{ErrorKind, Phase, Worker};

    fn failed(host: &str, kind: ErrorKind) -> HostOutcome {
        HostOutcome::failed(host, kind, "x", Worker::Thread(0))
    }

    #[test]
    fn groups_by_kind_and_phase_largest_first_with_the_first_names() {
        let mut outcomes = vec![
            HostOutcome::ok("ok1", Vec::new(), Worker::Thread(0)),
            failed("c1", ErrorKind::Connect),
        ];
        for i in 1..=7 {
            outcomes.push(failed(&format!("a{i}"), ErrorKind::Auth));
        }
        let mut t = failed("t1", ErrorKind::Timeout);
        t.status = Status::Timeout;
        t.phase = Some(Phase::Connect);
        outcomes.push(t);
        outcomes.push(HostOutcome::cancelled("z1", Worker::Thread(0)));
        let groups = failure_groups(&outcomes);
        let kinds: Vec<&str> = groups.iter().map(|g| g.kind.as_str()).collect();
        assert_eq!(
            kinds,
            ["auth", "cancelled", "connect", "timeout in connect"]
        );
        let mut buf = Vec::new();
        write_failures(&mut buf, &outcomes).unwrap();
        let text = String::from_utf8(buf).unwrap();
        assert!(text.starts_with("not ok, by kind:\n"), "{text}");
        assert!(
            text.contains("  auth: 7 (a1, a2, a3, a4, a5, ... 2 more)\n"),
            "{text}"
        );
        assert!(text.contains("  timeout in connect: 1 (t1)\n"), "{text}");
        assert!(!text.contains("ok1"), "{text}");
    }

    #[test]
    fn nothing_when_every_host_is_ok() {
        let mut buf = Vec::new();
        let ok = [HostOutcome::ok("r1", Vec::new(), Worker::Thread(0))];
        write_failures(&mut buf, &ok).unwrap();
        assert!(buf.is_empty());
    }
}
