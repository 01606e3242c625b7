//! Names on the NATS server: streams, subjects, key-value buckets, consumers,
//! run ids and sites. One place, so the submitter and the worker agree.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use fanout_core::Target;

use crate::QueueError;

/// The work-queue stream: one message per host, removed when acked.
pub(crate) const WORK_STREAM: &str = "FANOUT_WORK";
/// The results stream: one outcome per host (de-duplicated by run + host).
pub(crate) const RESULTS_STREAM: &str = "FANOUT_RESULTS";
/// Key-value bucket of the runs' jobs (key: run id), written once per run.
pub(crate) const JOBS_BUCKET: &str = "fanout_jobs";
/// Key-value bucket of the cancel flags (key: run id) the workers watch.
pub(crate) const CANCEL_BUCKET: &str = "fanout_cancel";
/// A run's cancel flag when it was cancelled: its hosts in flight stop.
pub(crate) const FLAG_CANCELLED: &str = "cancelled";
/// A run's cancel flag when its `--max-fail` tripped: no more of its hosts
/// start, those in flight finish.
pub(crate) const FLAG_HALTED: &str = "max_fail";
/// The site of hosts and workers that name none.
pub const DEFAULT_SITE: &str = "default";
/// The host variable that puts a host in a site.
pub const SITE_VAR: &str = "site";

/// Subject of a host's work message: `fanout.work.SITE.RUN`.
pub(crate) fn work_subject(site: &str, run: &str) -> String {
    format!("fanout.work.{site}.{run}")
}

/// Subject filter of one site's work (the site's durable consumer).
pub(crate) fn site_filter(site: &str) -> String {
    format!("fanout.work.{site}.>")
}

/// Subject filter of one run's work, in every site (the cancel purge).
pub(crate) fn run_work_filter(run: &str) -> String {
    format!("fanout.work.*.{run}")
}

/// Subject of a run's outcomes.
pub(crate) fn results_subject(run: &str) -> String {
    format!("fanout.results.{run}")
}

/// Subject of a run's "host started" notes (core NATS, in no stream: the
/// submitter's observer hears them while it runs; a lost note only means
/// the start is heard with the host's outcome).
pub(crate) fn started_subject(run: &str) -> String {
    format!("fanout.started.{run}")
}

/// The durable consumer shared by every worker of a site.
pub(crate) fn consumer_name(site: &str) -> String {
    format!("fanout-site-{site}")
}

/// `Nats-Msg-Id` of a host's messages: run id + host name, so a message
/// published twice (a retried publish, a redelivered host) is stored once.
pub(crate) fn message_id(run: &str, host: &str) -> String {
    format!("{run}/{host}")
}

/// A new run id: time, process and a counter, valid as a subject token.
pub(crate) fn new_run_id() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("r{nanos:x}p{:x}n{n}", std::process::id())
}

/// Checks that `site` can be a subject token: letters, digits, `-`, `_`.
pub fn check_site(site: &str, origin: &str) -> Result<(), QueueError> {
    let ok = !site.is_empty()
        && site
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(QueueError::Site {
            site: site.to_string(),
            origin: origin.to_string(),
        })
    }
}

/// A host's site: its `site` variable, else `default_site`.
pub(crate) fn site_of<'a>(target: &'a Target, default_site: &'a str) -> &'a str {
    target
        .vars
        .get(SITE_VAR)
        .map_or(default_site, String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_are_unique_subject_tokens() {
        let a = new_run_id();
        let b = new_run_id();
        assert_ne!(a, b);
        for id in [a, b] {
            assert!(id.chars().all(|c| c.is_ascii_alphanumeric()), "{id}");
        }
    }

    #[test]
    fn sites_must_be_subject_tokens() {
        assert!(check_site("lon-1_a", "--site").is_ok());
        for bad in ["", "a.b", "*", ">", "a b"] {
            let err = check_site(bad, "host r1").unwrap_err().to_string();
            assert!(err.contains("host r1"), "{err}");
        }
    }

    #[test]
    fn a_hosts_site_is_its_variable_or_the_default() {
        let mut t = Target::new("r1", "127.0.0.1");
        assert_eq!(site_of(&t, DEFAULT_SITE), "default");
        assert_eq!(site_of(&t, "lon"), "lon");
        t.vars.insert("site".into(), "par".into());
        assert_eq!(site_of(&t, "lon"), "par");
        assert_eq!(work_subject("par", "r1"), "fanout.work.par.r1");
        assert_eq!(message_id("r1", "h.1"), "r1/h.1");
    }
}
