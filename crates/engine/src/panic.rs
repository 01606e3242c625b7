//! A panic while running a host is a bug, but still only that host's
//! outcome (contract rule 3).

use std::any::Any;

use fanout_core::{ErrorKind, HostOutcome, Worker};

/// The outcome of a host whose code panicked (`panic` is what
/// `catch_unwind` returned): a bug, reported on that host as
/// `worker_crashed` with the panic message. The one panic-to-outcome rule
/// of every driver: blocking threads, worker processes and async tasks.
pub fn panicked(host: &str, worker: Worker, panic: &(dyn Any + Send)) -> HostOutcome {
    let detail = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string());
    HostOutcome::failed(
        host,
        ErrorKind::WorkerCrashed,
        format!("internal error (panic) while running this host: {detail}; please report it"),
        worker,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_the_hosts_outcome_with_its_message() {
        for payload in [
            Box::new("static str") as Box<dyn Any + Send>,
            Box::new(String::from("formatted 42")),
        ] {
            let o = panicked("r1", Worker::Pid(7), payload.as_ref());
            assert_eq!(o.error_kind, Some(ErrorKind::WorkerCrashed));
            assert_eq!(o.worker, Worker::Pid(7));
            let message = o.message.unwrap();
            assert!(message.contains("please report it"), "{message}");
            assert!(
                message.contains("static str") || message.contains("formatted 42"),
                "{message}"
            );
        }
        let o = panicked("r1", Worker::Thread(0), &17u8);
        assert!(o.message.unwrap().contains("unknown panic"));
    }
}
