//! The progress bar of `fanout run` on a terminal (indicatif, on stderr):
//! done / ok / failed / in flight, rate, ETA and the slowest hosts in
//! flight, redrawn at most 10 times a second. Absent when stderr is not a
//! terminal, with `-q` or with `-v` (the logs take stderr). The bar learns
//! of hosts starting from the run's [`RunObserver`] and of outcomes from
//! the sink; results on stdout are written around it ([`BarWriter`]).

use std::collections::HashMap;
use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use fanout_core::{HostOutcome, RunObserver, Status};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Redraws per second, at most.
const HZ: u8 = 10;
/// Slowest in-flight hosts named.
const SLOWEST: usize = 3;

/// What the bar shows besides the position.
#[derive(Debug, Default)]
struct State {
    /// Hosts running: when each started and its attempt.
    in_flight: HashMap<String, (Instant, u32)>,
    ok: u64,
    failed: u64,
    timeout: u64,
    cancelled: u64,
}

/// A run's progress bar.
pub(crate) struct RunProgress {
    bar: ProgressBar,
    state: Mutex<State>,
    done: AtomicBool,
    ticker: Mutex<Option<JoinHandle<()>>>,
}

impl RunProgress {
    /// The bar of a run of `hosts` hosts, if stderr is a terminal and
    /// `enabled`.
    pub(crate) fn start(hosts: usize, enabled: bool) -> Option<Arc<Self>> {
        if !enabled || !io::stderr().is_terminal() {
            return None;
        }
        let bar = ProgressBar::with_draw_target(
            Some(hosts as u64),
            ProgressDrawTarget::stderr_with_hz(HZ),
        );
        let style = ProgressStyle::with_template(
            "{pos}/{len} done [{bar:24}] {rate} ETA {eta} · {prefix} · {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .with_key(
            "rate",
            |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.0} hosts/s", state.per_sec());
            },
        )
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix("ok 0 · failed 0");
        let me = Arc::new(Self {
            bar,
            state: Mutex::new(State::default()),
            done: AtomicBool::new(false),
            ticker: Mutex::new(None),
        });
        let weak = Arc::downgrade(&me);
        let ticker = std::thread::Builder::new()
            .name("fanout-progress".into())
            .spawn(move || {
                while let Some(me) = weak.upgrade() {
                    if me.done.load(Ordering::SeqCst) {
                        break;
                    }
                    let msg = render(&me.lock(), Instant::now());
                    me.bar.set_message(msg);
                    drop(me);
                    std::thread::sleep(Duration::from_millis(1000 / u64::from(HZ)));
                }
            })
            .ok();
        *me.ticker.lock().unwrap_or_else(|e| e.into_inner()) = ticker;
        Some(me)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An outcome reached the sink (every host once, never-started ones
    /// included).
    pub(crate) fn outcome(&self, o: &HostOutcome) {
        {
            let mut s = self.lock();
            s.in_flight.remove(&o.host);
            match o.status {
                Status::Ok => s.ok += 1,
                Status::Failed => s.failed += 1,
                Status::Timeout => s.timeout += 1,
                Status::Cancelled => s.cancelled += 1,
            }
            // The counts follow every outcome; the hosts in flight are
            // redrawn by the ticker (they cost a pass over them).
            self.bar.set_prefix(counts(&s));
        }
        self.bar.inc(1);
    }

    /// Removes the bar (before the summary is printed).
    pub(crate) fn finish(&self) {
        self.done.store(true, Ordering::SeqCst);
        if let Some(t) = self.ticker.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = t.join();
        }
        self.bar.finish_and_clear();
    }

    /// A writer for stdout that prints whole lines with the bar out of the
    /// way.
    pub(crate) fn writer<'a>(self: &Arc<Self>, out: Box<dyn Write + 'a>) -> BarWriter<'a> {
        BarWriter {
            bar: self.bar.clone(),
            out,
            line: Vec::new(),
        }
    }
}

impl RunObserver for RunProgress {
    fn host_started(&self, host: &str) {
        self.lock()
            .in_flight
            .insert(host.to_string(), (Instant::now(), 1));
    }

    fn attempt_started(&self, host: &str, attempt: u32) {
        if let Some(entry) = self.lock().in_flight.get_mut(host) {
            entry.1 = attempt;
        }
    }

    fn host_finished(&self, outcome: &HostOutcome) {
        self.lock().in_flight.remove(&outcome.host);
    }
}

/// `ok 12 · failed 3` (`· cancelled N` once some are).
fn counts(s: &State) -> String {
    let mut msg = format!("ok {} · failed {}", s.ok, s.failed + s.timeout);
    if s.cancelled > 0 {
        msg.push_str(&format!(" · cancelled {}", s.cancelled));
    }
    msg
}

/// `in flight 40 · slowest: r7 4.1s, r9 3.9s (try 2)`.
fn render(s: &State, now: Instant) -> String {
    let mut msg = format!("in flight {}", s.in_flight.len());
    // The few oldest starts, without sorting every host in flight.
    let mut slowest: Vec<(&String, Instant, u32)> = Vec::with_capacity(SLOWEST + 1);
    for (host, (start, attempt)) in &s.in_flight {
        if slowest.len() < SLOWEST || *start < slowest[slowest.len() - 1].1 {
            let at = slowest.partition_point(|(_, t, _)| *t <= *start);
            slowest.insert(at, (host, *start, *attempt));
            slowest.truncate(SLOWEST);
        }
    }
    if !slowest.is_empty() {
        let names: Vec<String> = slowest
            .iter()
            .map(|(host, start, attempt)| {
                let secs = now.saturating_duration_since(*start).as_secs_f64();
                if *attempt > 1 {
                    format!("{host} {secs:.1}s (try {attempt})")
                } else {
                    format!("{host} {secs:.1}s")
                }
            })
            .collect();
        msg.push_str(&format!(" · slowest: {}", names.join(", ")));
    }
    msg
}

/// Writes whole lines to `out` with the bar hidden meanwhile (a partial
/// line waits for its end, or for `flush`).
pub(crate) struct BarWriter<'a> {
    bar: ProgressBar,
    out: Box<dyn Write + 'a>,
    line: Vec<u8>,
}

impl Write for BarWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.line.extend_from_slice(buf);
        if let Some(end) = self.line.iter().rposition(|b| *b == b'\n') {
            let rest = self.line.split_off(end + 1);
            let whole = std::mem::replace(&mut self.line, rest);
            let out = &mut self.out;
            self.bar.suspend(|| out.write_all(&whole))?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.line.is_empty() {
            let whole = std::mem::take(&mut self.line);
            let out = &mut self.out;
            self.bar.suspend(|| out.write_all(&whole))?;
        }
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_counts_and_names_the_slowest_hosts_in_flight() {
        let now = Instant::now();
        let mut s = State {
            ok: 5,
            failed: 1,
            timeout: 1,
            ..State::default()
        };
        for (i, age) in [1u64, 9, 3, 7, 5].iter().enumerate() {
            let attempt = if i == 1 { 2 } else { 1 };
            s.in_flight
                .insert(format!("r{i}"), (now - Duration::from_secs(*age), attempt));
        }
        assert_eq!(
            render(&s, now),
            "in flight 5 · slowest: r1 9.0s (try 2), r3 7.0s, r4 5.0s"
        );
        assert_eq!(counts(&s), "ok 5 · failed 2");
        s.in_flight.clear();
        s.cancelled = 3;
        assert_eq!(render(&s, now), "in flight 0");
        assert_eq!(counts(&s), "ok 5 · failed 2 · cancelled 3");
    }

    #[test]
    fn the_writer_passes_whole_lines_and_the_rest_on_flush() {
        let bar = ProgressBar::hidden();
        let mut buf = Vec::new();
        {
            let mut w = BarWriter {
                bar,
                out: Box::new(&mut buf),
                line: Vec::new(),
            };
            w.write_all(b"ok r1\nok r").unwrap();
            w.write_all(b"2\npart").unwrap();
            w.flush().unwrap();
        }
        assert_eq!(buf, b"ok r1\nok r2\npart");
    }
}
