//! The child side: `fanout worker` reads the job and hosts from stdin, runs
//! each host with the engine's blocking driver
//! ([`fanout_engine::blocking::run_host`]) and writes its outcome to stdout.

use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use fanout_core::{CancelToken, Job, Target, Worker};
use fanout_engine::adaptive::Signal;
use fanout_engine::blocking::{HostRun, run_host};
use fanout_engine::{AttemptGate, Ticket};
use fanout_transport_blocking::Transports;

use crate::ProcessError;
use crate::faults::{FaultKind, Faults, strike};
use crate::wire::{self, FromWorker, PROTOCOL, ToWorker, WireCongestion};

/// How often a worker waiting for its connect-rate slot looks at the
/// cancel token.
const SLOT_POLL: Duration = Duration::from_millis(10);

/// How long a worker told to stop by SIGTERM (its parent died) waits for
/// the host in flight to wind down before it kills its local commands and
/// exits anyway.
const TERM_GRACE: Duration = Duration::from_secs(1);

/// What [`serve_worker`] needs besides its pipes.
#[derive(Clone, Debug, Default)]
pub struct WorkerOptions {
    /// Cancels the host in flight (set by a `cancel` message, or by the
    /// caller, e.g. on SIGTERM).
    pub cancel: CancelToken,
    /// Test-only injected faults (see [`Faults`]).
    pub faults: Faults,
}

/// Serves the worker protocol: reads the job and then hosts from `input`,
/// runs each with `run_host` (worker id `pid:<this process>`), and writes
/// one outcome line per host to `output`. Returns the number of hosts run
/// when `input` ends.
///
/// `input` is read on a thread of its own so that a `cancel` message
/// reaches the host in flight. With a connect rate, every attempt asks the
/// parent for its slot on `output` and waits for the answer on `input`.
pub fn serve_worker<R, W>(
    input: R,
    output: W,
    options: &WorkerOptions,
) -> Result<usize, ProcessError>
where
    R: BufRead + Send + 'static,
    W: Write + Send,
{
    let output = Mutex::new(output);
    let (tx, rx) = mpsc::channel::<Result<ToWorker, ProcessError>>();
    let (grant_tx, grant_rx) = mpsc::channel::<u64>();
    let cancel = options.cancel.clone();
    std::thread::Builder::new()
        .name("worker-stdin".into())
        .spawn(move || read_messages(input, &tx, &grant_tx, &cancel))
        .map_err(|e| ProcessError::Io {
            what: "starting the worker's input thread".into(),
            source: e,
        })?;

    let job = match rx.recv() {
        // No job at all: the parent went away before sending anything.
        Err(_) => return Ok(0),
        Ok(message) => match message? {
            ToWorker::Job { protocol, job } if protocol == PROTOCOL => Job::try_from(job)?,
            ToWorker::Job { protocol, .. } => {
                return Err(ProcessError::Protocol {
                    what: format!(
                        "the parent speaks protocol {protocol}, this worker {PROTOCOL}; run the parent and `fanout worker` from the same fanout build"
                    ),
                });
            }
            _ => {
                return Err(ProcessError::Protocol {
                    what: "the first message must be the job".into(),
                });
            }
        },
    };
    // Every attempt waits for a slot of the parent's limiters, so the
    // connect rates hold across all workers.
    let gate = ParentGate {
        output: &output,
        grants: Mutex::new(grant_rx),
        next_id: AtomicU64::new(0),
        adapts: job.limits.connect_rate_auto,
    };
    let paced = job.limits.connect_rate.is_some()
        || job.limits.per_jump_rate.is_some()
        || job.limits.connect_rate_auto;
    let gate = paced.then_some(&gate as &dyn AttemptGate);
    // known_hosts read once per worker (the parent checked it up front;
    // accept-new appends are serialised across processes by file locks).
    let transports = Transports::for_job(&job).map_err(|e| ProcessError::Setup {
        what: e.to_string(),
    })?;
    let worker = Worker::Pid(std::process::id());
    let mut served = 0;
    for message in rx {
        let target = match message? {
            ToWorker::Host { target } => Target::try_from(target)?,
            ToWorker::Job { .. } => {
                return Err(ProcessError::Protocol {
                    what: "a second job arrived; a worker runs one job".into(),
                });
            }
            ToWorker::Cancel | ToWorker::Slot { .. } => continue,
        };
        let fault = options.faults.for_host(&target.name).cloned();
        match &fault {
            // These strike after the host ran, instead of its outcome.
            Some(f) if f.kind == FaultKind::Garbage => {}
            Some(f) if f.kind == FaultKind::Hang && f.delay.is_some() => {}
            Some(f) => match f.delay {
                None => strike(f.kind, &target.name),
                Some(delay) => {
                    let (kind, host) = (f.kind, target.name.clone());
                    std::thread::spawn(move || {
                        std::thread::sleep(delay);
                        strike(kind, &host);
                    });
                }
            },
            None => {}
        }
        let run = HostRun {
            worker,
            cancel: &options.cancel,
            connect_rate: gate,
            transport: Some(&transports),
        };
        let outcome = run_host(&job, &target, run);
        let line = match fault.map(|f| f.kind) {
            Some(FaultKind::Garbage) => "this is not protocol JSON\n".to_string(),
            Some(FaultKind::Hang) => {
                strike(FaultKind::Hang, &target.name);
                unreachable!("a hung worker never reports")
            }
            _ => wire::encode(&FromWorker::Outcome { outcome }),
        };
        write_line(&output, &line).map_err(|e| ProcessError::Io {
            what: "writing an outcome to the parent".into(),
            source: e,
        })?;
        served += 1;
    }
    Ok(served)
}

/// Writes one protocol line to the parent.
fn write_line<W: Write>(output: &Mutex<W>, line: &str) -> std::io::Result<()> {
    let mut out: MutexGuard<'_, W> = output.lock().unwrap_or_else(|e| e.into_inner());
    out.write_all(line.as_bytes())?;
    out.flush()
}

/// The worker's connect-rate gate: asks the parent for a slot and waits for
/// its answer (or a cancel).
struct ParentGate<'a, W> {
    output: &'a Mutex<W>,
    grants: Mutex<mpsc::Receiver<u64>>,
    next_id: AtomicU64,
    /// `--connect-rate auto`: each attempt's end is reported.
    adapts: bool,
}

impl<W: Write + Send> AttemptGate for ParentGate<'_, W> {
    /// The parent knows which host this worker runs: `_target` needs no
    /// place on the wire. The slot returned is when the grant came (the
    /// parent keeps the ticket it booked).
    fn acquire(&self, _target: &Target, cancel: &CancelToken) -> Option<Ticket> {
        if cancel.is_cancelled() {
            return None;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        if write_line(self.output, &wire::encode(&FromWorker::Slot { id })).is_err() {
            // The parent is gone: no attempt may start.
            return None;
        }
        let grants = self.grants.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if cancel.is_cancelled() {
                return None;
            }
            match grants.recv_timeout(SLOT_POLL) {
                Ok(granted) if granted == id => return Some(Ticket::at(Instant::now())),
                // The answer to an attempt that was cancelled meanwhile.
                Ok(_) | Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return None,
            }
        }
    }

    /// Tells the parent, whose limiter adapts (and holds the ticket it
    /// booked for the attempt).
    fn settle(&self, _target: &Target, _ticket: Ticket, signal: Signal) {
        let congested = WireCongestion::of(signal);
        // A parent that went away learns nothing; the outcome line fails
        // and says so.
        let _ = write_line(
            self.output,
            &wire::encode(&FromWorker::Settled { congested }),
        );
    }

    fn adapts(&self) -> bool {
        self.adapts
    }
}

fn read_messages<R: BufRead>(
    mut input: R,
    tx: &mpsc::Sender<Result<ToWorker, ProcessError>>,
    grants: &mpsc::Sender<u64>,
    cancel: &CancelToken,
) {
    let mut line = String::new();
    loop {
        line.clear();
        let message = match input.read_line(&mut line) {
            Ok(0) => return,
            Ok(_) if line.trim().is_empty() => continue,
            Ok(_) => wire::decode_to_worker(&line),
            Err(e) => Err(ProcessError::Io {
                what: "reading from the parent".into(),
                source: e,
            }),
        };
        match message {
            Ok(ToWorker::Cancel) => cancel.cancel(),
            Ok(ToWorker::Slot { id }) => {
                let _ = grants.send(id);
            }
            Ok(message) => {
                if tx.send(Ok(message)).is_err() {
                    return;
                }
            }
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
        }
    }
}

/// The whole of `fanout worker`: serves stdin/stdout with the faults of
/// [`FAULTS_ENV`](crate::FAULTS_ENV), and treats SIGTERM (sent by the
/// kernel when the parent dies, see `PR_SET_PDEATHSIG`) as a cancel: the
/// host in flight stops, and after a short grace its local commands are
/// killed and the worker exits. Returns the process exit status: 0 when
/// stdin ended, 2 on a protocol or I/O error (explained on stderr).
pub fn worker_main() -> u8 {
    let options = match Faults::from_env() {
        Ok(faults) => WorkerOptions {
            cancel: CancelToken::new(),
            faults,
        },
        Err(e) => {
            eprintln!("fanout worker: {e}");
            return 2;
        }
    };
    if let Err(e) = cancel_on_sigterm(&options.cancel) {
        eprintln!("fanout worker: {e}");
        return 2;
    }
    let stdout = std::io::stdout();
    let stdin = std::io::BufReader::new(std::io::stdin());
    match serve_worker(stdin, stdout, &options) {
        Ok(_) => 0,
        Err(e) => {
            eprintln!("fanout worker: {e}");
            2
        }
    }
}

/// Blocks SIGTERM in this thread (so in every thread started after it)
/// and waits for it on a thread of its own. Must run before any other
/// thread starts.
fn cancel_on_sigterm(cancel: &CancelToken) -> Result<(), ProcessError> {
    let io = |what: &str, source| ProcessError::Io {
        what: what.to_string(),
        source,
    };
    // SAFETY: plain sigset manipulation on a set we own, then masking
    // SIGTERM for the calling thread.
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        let rc = libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        if rc != 0 {
            return Err(io(
                "blocking SIGTERM",
                std::io::Error::from_raw_os_error(rc),
            ));
        }
        set
    };
    let cancel = cancel.clone();
    std::thread::Builder::new()
        .name("worker-sigterm".into())
        .spawn(move || {
            let mut signal = 0;
            // SAFETY: waits for a signal of a set we own.
            while unsafe { libc::sigwait(&set, &mut signal) } != 0 {}
            cancel.cancel();
            std::thread::sleep(TERM_GRACE);
            fanout_engine::kill_all_local_commands();
            // SAFETY: ends the process at once, as SIGTERM would have.
            unsafe { libc::_exit(128 + libc::SIGTERM) }
        })
        .map(drop)
        .map_err(|e| io("starting the SIGTERM thread", e))
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;
    use crate::wire::{WireJob, WireTarget};
    use fanout_core::{HostOutcome, Status, Task};

    fn input(job: &Job, hosts: &[&str]) -> String {
        let mut text = wire::encode(&ToWorker::Job {
            protocol: PROTOCOL,
            job: WireJob::from(job),
        });
        for host in hosts {
            text += &wire::encode(&ToWorker::Host {
                target: WireTarget::from(&Target::new(*host, "127.0.0.1")),
            });
        }
        text
    }

    fn outcomes(bytes: &[u8]) -> Vec<HostOutcome> {
        bytes
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| match wire::decode_from_worker(l).unwrap() {
                FromWorker::Outcome { outcome } => outcome,
                FromWorker::Slot { id } => panic!("unexpected slot request {id}"),
                FromWorker::Settled { congested } => {
                    panic!("unexpected settled message (congested: {congested:?})")
                }
            })
            .collect()
    }

    #[test]
    fn serves_one_outcome_per_host_in_order() {
        let job = Job::new(Task::Cpu { iterations: 1000 });
        let mut out = Vec::new();
        let n = serve_worker(
            Cursor::new(input(&job, &["a", "b", "c"])),
            &mut out,
            &WorkerOptions::default(),
        )
        .unwrap();
        assert_eq!(n, 3);
        let got = outcomes(&out);
        let names: Vec<_> = got.iter().map(|o| o.host.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        for o in got {
            assert_eq!(o.status, Status::Ok, "{o:?}");
            assert_eq!(o.worker, Worker::Pid(std::process::id()));
        }
    }

    #[test]
    fn cancel_message_stops_the_host_in_flight() {
        let job = Job::new(Task::Sleep {
            duration: Duration::from_secs(30),
        });
        let (reader, mut writer) = std::io::pipe().unwrap();
        writer.write_all(input(&job, &["slow"]).as_bytes()).unwrap();
        let started = std::time::Instant::now();
        let canceller = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            writer
                .write_all(wire::encode(&ToWorker::Cancel).as_bytes())
                .unwrap();
            // Closing stdin lets the worker finish.
        });
        let mut out = Vec::new();
        serve_worker(
            std::io::BufReader::new(reader),
            &mut out,
            &WorkerOptions::default(),
        )
        .unwrap();
        canceller.join().unwrap();
        assert!(started.elapsed() < Duration::from_secs(10));
        let got = outcomes(&out);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].status, Status::Cancelled, "{:?}", got[0]);
    }

    #[test]
    fn with_a_connect_rate_every_attempt_waits_for_the_parents_slot() {
        use std::io::BufReader;
        let mut job = Job::new(Task::Sleep {
            duration: Duration::from_millis(1),
        });
        job.limits.connect_rate = "10/s".parse().ok();
        let (stdin, mut to_worker) = std::io::pipe().unwrap();
        let (from_worker, output) = std::io::pipe().unwrap();
        to_worker.write_all(input(&job, &["a"]).as_bytes()).unwrap();
        let server = std::thread::spawn(move || {
            serve_worker(BufReader::new(stdin), output, &WorkerOptions::default())
        });
        let (lines_tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(from_worker).lines() {
                let _ = lines_tx.send(line.unwrap());
            }
        });
        let ask = lines.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(ask, r#"{"type":"slot","id":0}"#);
        // A stale answer (to another request) does not start the attempt.
        to_worker
            .write_all(wire::encode(&ToWorker::Slot { id: 99 }).as_bytes())
            .unwrap();
        assert!(
            lines.recv_timeout(Duration::from_millis(300)).is_err(),
            "the host ran without its slot"
        );
        to_worker
            .write_all(wire::encode(&ToWorker::Slot { id: 0 }).as_bytes())
            .unwrap();
        let line = lines.recv_timeout(Duration::from_secs(10)).unwrap();
        let got = outcomes(line.as_bytes());
        assert_eq!(got[0].status, Status::Ok, "{:?}", got[0]);
        drop(to_worker);
        assert_eq!(server.join().unwrap().unwrap(), 1);
    }

    #[test]
    fn protocol_mistakes_are_errors() {
        let job = Job::new(Task::Cpu { iterations: 1 });
        let wrong_version =
            input(&job, &[]).replace(&format!("\"protocol\":{PROTOCOL}"), "\"protocol\":999");
        let err = serve_worker(
            Cursor::new(wrong_version),
            Vec::new(),
            &WorkerOptions::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("protocol 999") && err.contains("same fanout build"),
            "{err}"
        );

        let host_first = wire::encode(&ToWorker::Host {
            target: WireTarget::from(&Target::new("a", "127.0.0.1")),
        });
        let err = serve_worker(
            Cursor::new(host_first),
            Vec::new(),
            &WorkerOptions::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("first message must be the job"), "{err}");

        let garbled = input(&job, &[]) + "{not json\n";
        assert!(serve_worker(Cursor::new(garbled), Vec::new(), &WorkerOptions::default()).is_err());
        assert_eq!(
            serve_worker(Cursor::new(""), Vec::new(), &WorkerOptions::default()).unwrap(),
            0,
            "no job at all: nothing to do"
        );
    }

    #[test]
    fn garbage_fault_replaces_the_outcome() {
        let job = Job::new(Task::Cpu { iterations: 1 });
        let options = WorkerOptions {
            faults: Faults::parse("garbage:b").unwrap(),
            ..WorkerOptions::default()
        };
        let mut out = Vec::new();
        serve_worker(Cursor::new(input(&job, &["a", "b"])), &mut out, &options).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].contains("\"host\":\"a\""));
        assert_eq!(lines[1], "this is not protocol JSON");
    }
}
