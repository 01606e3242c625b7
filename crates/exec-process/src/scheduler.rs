//! The parent's event loop: hands hosts to workers when `-c` and per-group
//! caps allow, answers the workers' requests for connect-rate slots from
//! its one limiter (every attempt of every host asks, so the rate holds
//! across workers), reads outcomes as they come (poll(2) over every
//! worker's stdout and stderr, on the calling thread), and deals with
//! workers that crash, hang or must be stopped.

use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::{Duration, Instant};

use fanout_core::{
    CancelToken, ErrorKind, Executor, FailGate, HostOutcome, Job, Phase, RunSummary, Sink, Target,
    Worker,
};

use fanout_engine::{Admission, BlockingTransport, ConnectRate, Ledger, Ticket, max_host_duration};

use crate::child::{Lines, WorkerProcess, describe_exit};
use crate::executor::{ProcessExecutor, ProcessMode};
use crate::wire::{self, FromWorker, PROTOCOL, ToWorker, WireCongestion, WireJob, WireTarget};

/// How long in-flight hosts get to stop after a cancel before their
/// workers are killed (the documented cancellation bound).
pub(crate) const CANCEL_GRACE: Duration = Duration::from_millis(500);

/// Least extra time a worker gets past its host's deadline before the
/// parent kills it (plus a tenth of the deadline).
pub(crate) const KILL_GRACE: Duration = Duration::from_secs(2);

/// How long a worker may take to exit once it closed its stdout or was
/// told to finish, before it is killed.
const EXIT_GRACE: Duration = Duration::from_secs(2);

/// Longest sleep of the loop: bounds how late a cancel is noticed.
const TICK: Duration = Duration::from_millis(20);

/// Largest protocol line accepted from a worker (outputs are capped at
/// 16 MiB per stream by run_host; JSON escaping can grow them).
const MAX_LINE: usize = 256 << 20;

/// A host a worker is running.
struct Busy {
    index: usize,
    started: Instant,
    queued: Duration,
    /// When the parent kills the worker if the host has not reported
    /// (pushed back by every connect-rate wait the parent imposes).
    kill_at: Option<Instant>,
    budget: Option<Duration>,
    cancel_sent: bool,
    /// A connect-rate slot promised to the worker: its request id, and
    /// when to answer.
    grant: Option<(u64, Instant)>,
    /// The booking of the host's latest attempt (`--connect-rate auto`
    /// settles it when the worker says how the attempt ended).
    booked: Option<Ticket>,
}

struct Slot {
    process: WorkerProcess,
    busy: Option<Busy>,
    /// Stdin closed by the parent: the worker is expected to exit.
    released: bool,
    /// When the worker's stdout closed (it is exiting).
    closing_since: Option<Instant>,
    /// The host it ran last: it is offered that host's affinity key first.
    last: Option<usize>,
}

/// Why a slot leaves the loop.
enum Retire {
    /// Exited by itself (after stdout closed).
    Exited,
    /// Broke the protocol.
    Protocol(String),
    /// Overran its host's deadline.
    Overran,
    /// Did not stop within the cancel grace.
    Unresponsive,
    /// Did not exit within the exit grace after closing stdout.
    Lingering,
}

pub(crate) fn run(
    exec: &ProcessExecutor,
    program: &Path,
    job: &Job,
    targets: &[Target],
    sink: &mut dyn Sink,
    cancel: &CancelToken,
    transport: Option<&dyn BlockingTransport>,
) -> RunSummary {
    let job_line = wire::encode(&ToWorker::Job {
        protocol: PROTOCOL,
        job: WireJob::from(job),
    });
    let mut s = Scheduler {
        exec,
        program,
        job,
        targets,
        sink,
        cancel,
        transport,
        ledger: Ledger::new(targets.len()),
        job_line,
        admission: Admission::for_limits(targets, &job.limits, exec.concurrency(job).max(1)),
        slots: Vec::new(),
        limiter: ConnectRate::for_limits(&job.limits),
        capacity: exec.concurrency(job).max(1),
        stop_deadline: None,
        parent: Worker::Pid(std::process::id()),
        gate: FailGate::new(job.limits.max_fail, targets.len()),
    };
    if let (ProcessMode::Pool, Some(transport)) = (exec.mode, transport) {
        // A pooled worker keeps its HTTP connections between hosts: give
        // it the hosts of the devices it already has one to.
        s.admission
            .set_affinity(targets.iter().map(|t| transport.reuse_key(job, t)));
    }
    s.run_loop();
    // The last line is out before the workers' exit grace.
    s.ledger.idle(s.sink);
    s.shutdown();
    s.ledger.finish(exec.name(), exec.concurrency(job))
}

struct Scheduler<'a> {
    exec: &'a ProcessExecutor,
    program: &'a Path,
    job: &'a Job,
    targets: &'a [Target],
    sink: &'a mut dyn Sink,
    cancel: &'a CancelToken,
    /// The run's transports (what the workers run network tasks with):
    /// how long an attempt may take.
    transport: Option<&'a dyn BlockingTransport>,
    /// Every host exactly once, and the run's summary.
    ledger: Ledger,
    job_line: String,
    /// Hosts waiting, and the running count of each capped group.
    admission: Admission,
    /// Live workers (dropping one kills it and its session).
    slots: Vec<Slot>,
    /// The run's one connect-rate limiter: every attempt's slot.
    limiter: Option<ConnectRate>,
    /// Live workers allowed (`-c`, lowered if the system refuses more).
    capacity: usize,
    stop_deadline: Option<Instant>,
    parent: Worker,
    /// `--max-fail`: once tripped, hosts not started are reported
    /// cancelled while those in flight finish.
    gate: FailGate,
}

impl Scheduler<'_> {
    fn run_loop(&mut self) {
        while self.ledger.remaining() > 0 {
            if self.stop_deadline.is_none() && self.ledger.should_stop(self.cancel) {
                self.begin_stop();
            }
            if self.gate.tripped() {
                for index in self.admission.take_all() {
                    let o = HostOutcome::cancelled(&self.targets[index].name, self.parent);
                    self.deliver(index, o);
                }
            }
            if self.stop_deadline.is_none() {
                self.dispatch();
            }
            if self.ledger.remaining() == 0 {
                break;
            }
            let wake = self.next_wakeup();
            self.ledger.idle(self.sink);
            self.poll_until(wake);
            self.send_due_grants();
            self.check_slots();
        }
    }

    // ----- dispatching -------------------------------------------------

    fn dispatch(&mut self) {
        while self.admission.waiting() > 0 && !self.gate.tripped() {
            let idle = match self.exec.mode {
                ProcessMode::Pool => self
                    .slots
                    .iter()
                    .position(|s| s.busy.is_none() && !s.released && s.closing_since.is_none()),
                ProcessMode::PerHost => None,
            };
            if idle.is_none() && self.slots.len() >= self.capacity {
                break;
            }
            let previous = idle.and_then(|slot| self.slots[slot].last);
            let Some(index) = self.admission.next_admissible_after(previous) else {
                break;
            };
            let slot = match idle {
                Some(slot) => slot,
                None => match self.spawn() {
                    Ok(slot) => slot,
                    Err(e) => {
                        if !self.slots.is_empty() && is_resource_shortage(&e) {
                            // The system allows fewer processes than -c:
                            // run with what we have.
                            self.capacity = self.slots.len();
                            self.admission.put_back(index);
                            break;
                        }
                        self.admission.release(index);
                        let queued = self.ledger.host_started();
                        let mut o = HostOutcome::failed(
                            &self.targets[index].name,
                            ErrorKind::WorkerCrashed,
                            format!(
                                "could not start a worker process (`{} worker`): {}",
                                self.program.display(),
                                fanout_engine::limits::descriptor_shortage(&e)
                                    .unwrap_or_else(|| e.to_string())
                            ),
                            self.parent,
                        );
                        o.timings.queued = queued;
                        self.deliver(index, o);
                        continue;
                    }
                },
            };
            self.start_host(slot, index);
        }
        if self.admission.waiting() == 0 {
            // No more work: idle workers may go.
            for slot in &mut self.slots {
                if slot.busy.is_none() && !slot.released {
                    slot.process.close_stdin();
                    slot.released = true;
                }
            }
        }
    }

    fn spawn(&mut self) -> std::io::Result<usize> {
        let mut process = WorkerProcess::spawn(self.program, &self.exec.env)?;
        // A failed write means the worker is already dying; its closed
        // stdout will tell how.
        process.send(&self.job_line);
        self.slots.push(Slot {
            process,
            busy: None,
            released: false,
            closing_since: None,
            last: None,
        });
        Ok(self.slots.len() - 1)
    }

    fn start_host(&mut self, slot: usize, index: usize) {
        let target = &self.targets[index];
        self.job.observer.host_started(&target.name);
        let queued = self.ledger.host_started();
        let now = Instant::now();
        let budget = max_host_duration(self.job, target, self.transport);
        let kill_at = budget.and_then(|b| now.checked_add(b.saturating_add(kill_grace(b))));
        let slot = &mut self.slots[slot];
        slot.last = Some(index);
        slot.busy = Some(Busy {
            index,
            started: now,
            queued,
            kill_at,
            budget,
            cancel_sent: false,
            grant: None,
            booked: None,
        });
        slot.process.send(&wire::encode(&ToWorker::Host {
            target: WireTarget::from(target),
        }));
    }

    // ----- stopping ----------------------------------------------------

    fn begin_stop(&mut self) {
        self.stop_deadline = Some(Instant::now() + CANCEL_GRACE);
        for index in self.admission.take_all() {
            let o = HostOutcome::cancelled(&self.targets[index].name, self.parent);
            self.deliver(index, o);
        }
        let cancel_line = wire::encode(&ToWorker::Cancel);
        for slot in &mut self.slots {
            match &mut slot.busy {
                Some(busy) => {
                    slot.process.send(&cancel_line);
                    busy.cancel_sent = true;
                }
                None if !slot.released => {
                    slot.process.close_stdin();
                    slot.released = true;
                }
                None => {}
            }
        }
    }

    // ----- waiting -----------------------------------------------------

    fn next_wakeup(&self) -> Instant {
        let now = Instant::now();
        let mut wake = now + TICK;
        // Times already past were acted on (or wait for an event instead).
        let mut consider = |t: Option<Instant>| {
            if let Some(t) = t.filter(|t| *t > now) {
                wake = wake.min(t);
            }
        };
        consider(self.stop_deadline);
        for slot in &self.slots {
            consider(slot.busy.as_ref().and_then(|b| b.kill_at));
            consider(slot.busy.as_ref().and_then(|b| b.grant).map(|(_, at)| at));
            if slot.closing_since.is_some() {
                // Exiting: its status is usually there within a moment.
                consider(Some(now + Duration::from_millis(1)));
            }
        }
        wake
    }

    /// Waits for output from any worker (or until `wake`), and handles it.
    fn poll_until(&mut self, wake: Instant) {
        let mut fds = Vec::with_capacity(self.slots.len() * 2);
        let mut owners = Vec::with_capacity(self.slots.len() * 2);
        for (i, slot) in self.slots.iter().enumerate() {
            if let Some(out) = &slot.process.stdout {
                fds.push(pollfd(out.as_raw_fd()));
                owners.push((i, true));
            }
            if let Some(err) = &slot.process.stderr {
                fds.push(pollfd(err.as_raw_fd()));
                owners.push((i, false));
            }
        }
        let wait = wake.saturating_duration_since(Instant::now());
        if fds.is_empty() {
            self.cancel.sleep(wait);
            return;
        }
        let timeout = libc::timespec {
            tv_sec: wait.as_secs().try_into().unwrap_or(libc::time_t::MAX),
            tv_nsec: wait.subsec_nanos().into(),
        };
        // SAFETY: fds is a valid array of pollfd of the given length.
        let ready = unsafe {
            libc::ppoll(
                fds.as_mut_ptr(),
                fds.len() as libc::nfds_t,
                &timeout,
                std::ptr::null(),
            )
        };
        if ready <= 0 {
            return;
        }
        let mut retire: Vec<(usize, Retire)> = Vec::new();
        for (fd, &(i, is_stdout)) in fds.iter().zip(&owners) {
            if fd.revents == 0 {
                continue;
            }
            if !is_stdout {
                self.slots[i].process.read_stderr();
                continue;
            }
            if let Some(reason) = self.read_outcomes(i) {
                retire.push((i, reason));
            }
        }
        self.retire_all(retire);
    }

    /// Reads and handles what a worker wrote; `Some` if it must go.
    fn read_outcomes(&mut self, i: usize) -> Option<Retire> {
        let (lines, closed) = match self.slots[i].process.read_stdout() {
            Ok(Lines::Some(lines)) => (lines, false),
            Ok(Lines::Closed(lines)) => (lines, true),
            Err(e) => return Some(Retire::Protocol(format!("reading its output failed: {e}"))),
        };
        for line in lines {
            let outcome = match wire::decode_from_worker(&line) {
                Ok(FromWorker::Outcome { outcome }) => outcome,
                Ok(FromWorker::Slot { id }) => {
                    if let Err(why) = self.slot_asked(i, id) {
                        return Some(Retire::Protocol(why));
                    }
                    continue;
                }
                Ok(FromWorker::Settled { congested }) => {
                    self.settled(i, congested);
                    continue;
                }
                Err(e) => return Some(Retire::Protocol(e.to_string())),
            };
            let slot = &mut self.slots[i];
            let Some(busy) = slot
                .busy
                .take_if(|b| self.targets[b.index].name == outcome.host)
            else {
                return Some(Retire::Protocol(format!(
                    "it reported host `{}`, which it was not running",
                    outcome.host
                )));
            };
            if self.exec.mode == ProcessMode::PerHost || self.stop_deadline.is_some() {
                slot.process.close_stdin();
                slot.released = true;
            }
            self.finish(busy, outcome);
        }
        if self.slots[i].process.pending_bytes() > MAX_LINE {
            return Some(Retire::Protocol(format!(
                "it wrote a line longer than {} MiB",
                MAX_LINE >> 20
            )));
        }
        // Part of a line arrived: the worker is writing its outcome (up to
        // MAX_LINE), so it has finished the host; on a busy machine moving
        // 16 MiB of output can outlast the host's budget, and killing it
        // then would lose a finished host.
        if !closed
            && self.slots[i].process.pending_bytes() > 0
            && let Some(busy) = self.slots[i].busy.as_mut()
        {
            let later = Instant::now() + KILL_GRACE;
            busy.kill_at = busy.kill_at.map(|at| at.max(later));
        }
        if closed {
            self.slots[i].closing_since.get_or_insert_with(Instant::now);
        }
        None
    }

    /// Worker `i` asks whether attempt `id` of its host may start: reserves
    /// the next slots of the run's connect rates for that host (the parent
    /// knows which it is running) and answers when they come. The
    /// worker's kill deadline moves back by the wait imposed on it.
    fn slot_asked(&mut self, i: usize, id: u64) -> Result<(), String> {
        let slot = &mut self.slots[i];
        let Some(busy) = slot.busy.as_mut() else {
            return Err(format!(
                "it asked for connect slot {id} while running no host"
            ));
        };
        if self.stop_deadline.is_some() {
            // Stopping: the worker was told to cancel; its attempt never starts.
            return Ok(());
        }
        let now = Instant::now();
        let target = &self.targets[busy.index];
        let ticket = self.limiter.as_ref().map(|l| l.reserve(target));
        busy.booked = ticket;
        let at = ticket.map_or(now, |t| t.start);
        let wait = at.saturating_duration_since(now);
        busy.kill_at = busy.kill_at.and_then(|k| k.checked_add(wait));
        if wait.is_zero() {
            slot.process.send(&wire::encode(&ToWorker::Slot { id }));
        } else {
            busy.grant = Some((id, at));
        }
        Ok(())
    }

    /// Worker `i` says how its host's last granted attempt ended: the
    /// run's limiter adapts that host's endpoint (`--connect-rate auto`).
    fn settled(&mut self, i: usize, congested: Option<WireCongestion>) {
        let Some(busy) = self.slots[i].busy.as_ref() else {
            return;
        };
        if let (Some(limiter), Some(ticket)) = (&self.limiter, busy.booked) {
            let signal = WireCongestion::signal(congested);
            limiter.settle(&self.targets[busy.index], ticket, signal);
        }
    }

    /// Answers the slot requests whose time has come.
    fn send_due_grants(&mut self) {
        let now = Instant::now();
        for slot in &mut self.slots {
            let Some(busy) = slot.busy.as_mut() else {
                continue;
            };
            if let Some((id, _)) = busy.grant.take_if(|(_, at)| *at <= now) {
                slot.process.send(&wire::encode(&ToWorker::Slot { id }));
            }
        }
    }

    /// Exits, deadlines and cancel grace of every worker.
    fn check_slots(&mut self) {
        let now = Instant::now();
        let mut retire = Vec::new();
        for (i, slot) in self.slots.iter().enumerate() {
            if let Some(since) = slot.closing_since {
                if slot.process.exited() {
                    retire.push((i, Retire::Exited));
                } else if now - since > EXIT_GRACE {
                    retire.push((i, Retire::Lingering));
                }
                continue;
            }
            if let Some(busy) = &slot.busy {
                if busy.kill_at.is_some_and(|at| now >= at) {
                    retire.push((i, Retire::Overran));
                } else if busy.cancel_sent && self.stop_deadline.is_some_and(|at| now >= at) {
                    retire.push((i, Retire::Unresponsive));
                }
            }
        }
        self.retire_all(retire);
    }

    // ----- ending workers and hosts --------------------------------------

    fn retire_all(&mut self, mut retire: Vec<(usize, Retire)>) {
        // Highest index first, so swap_remove keeps the others in place.
        retire.sort_by_key(|r| std::cmp::Reverse(r.0));
        retire.dedup_by_key(|r| r.0);
        for (i, reason) in retire {
            let slot = self.slots.swap_remove(i);
            self.retire(slot, reason);
        }
    }

    fn retire(&mut self, mut slot: Slot, reason: Retire) {
        let pid = slot.process.pid;
        let status = match reason {
            Retire::Exited => {
                let unexpected = slot.busy.is_some() || !slot.released;
                slot.process.reap(unexpected)
            }
            _ => slot.process.kill(),
        };
        let Some(busy) = slot.busy.take() else {
            return;
        };
        slot.process.read_stderr();
        let stderr = slot
            .process
            .stderr_tail()
            .map(|t| format!("; its stderr ended with: {t}"))
            .unwrap_or_default();
        let name = &self.targets[busy.index].name;
        let worker = Worker::Pid(pid);
        let mut outcome = match reason {
            Retire::Exited | Retire::Lingering => HostOutcome::failed(
                name,
                ErrorKind::WorkerCrashed,
                format!(
                    "worker process pid:{pid} {} while running this host (other hosts are not affected){stderr}",
                    describe_exit(status)
                ),
                worker,
            ),
            Retire::Protocol(why) => HostOutcome::failed(
                name,
                ErrorKind::WorkerCrashed,
                format!(
                    "worker process pid:{pid} broke the worker protocol and was killed: {why}{stderr}"
                ),
                worker,
            ),
            Retire::Overran => {
                let budget = busy.budget.unwrap_or_default();
                let host_limit = self
                    .job
                    .timeouts
                    .for_target(&self.targets[busy.index], Phase::Host);
                let mut o = HostOutcome::timeout(name, Phase::Host, budget, worker);
                o.message = Some(match host_limit {
                    Some(limit) => format!(
                        "{}; worker process pid:{pid} had not stopped {} later and was killed{stderr}",
                        Phase::Host.timeout_message(limit),
                        fanout_core::format_duration(kill_grace(budget))
                    ),
                    None => format!(
                        "worker process pid:{pid} had not finished after {} (the host's phase timeouts, retries and backoff, plus {} grace) and was killed; bound hosts with --timeout host=DUR{stderr}",
                        fanout_core::format_duration(budget),
                        fanout_core::format_duration(kill_grace(budget))
                    ),
                });
                o
            }
            Retire::Unresponsive => {
                let mut o = HostOutcome::cancelled(name, worker);
                o.message = Some(format!(
                    "run cancelled; worker process pid:{pid} did not stop within {} and was killed",
                    fanout_core::format_duration(CANCEL_GRACE)
                ));
                o
            }
        };
        outcome.attempts = outcome.attempts.max(1);
        self.finish(busy, outcome);
    }

    fn finish(&mut self, busy: Busy, mut outcome: HostOutcome) {
        self.admission.release(busy.index);
        outcome.timings.queued = busy.queued;
        outcome.timings.total = outcome.timings.total.max(busy.started.elapsed());
        self.job.observer.host_finished(&outcome);
        self.deliver(busy.index, outcome);
    }

    fn deliver(&mut self, index: usize, outcome: HostOutcome) {
        self.gate.count(outcome.status);
        self.ledger.deliver(self.sink, index, outcome);
    }

    /// Lets every worker finish and reaps it; kills those that do not
    /// exit within the grace.
    fn shutdown(&mut self) {
        for slot in &mut self.slots {
            slot.process.close_stdin();
        }
        let deadline = Instant::now() + EXIT_GRACE;
        for mut slot in self.slots.drain(..) {
            slot.process
                .reap_within(deadline.saturating_duration_since(Instant::now()));
        }
    }
}

fn pollfd(fd: i32) -> libc::pollfd {
    libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    }
}

fn is_resource_shortage(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EAGAIN | libc::EMFILE | libc::ENFILE | libc::ENOMEM)
    )
}

/// Extra time past a host's budget before its worker is killed.
pub(crate) fn kill_grace(budget: Duration) -> Duration {
    KILL_GRACE.saturating_add(budget / 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kill_grace_grows_with_the_budget() {
        assert_eq!(kill_grace(Duration::from_secs(10)), Duration::from_secs(3));
        assert_eq!(kill_grace(Duration::ZERO), KILL_GRACE);
    }
}
