//! Fitting an outcome into one NATS message.
//!
//! A host may print up to [`OUTPUT_CAP`](fanout_core::OUTPUT_CAP) (16 MiB)
//! per stream, but a NATS server takes messages of at most its
//! `max_payload` (1 MiB by default). An outcome too large for the server
//! would be refused on every publish, and its host never reported; so the
//! worker cuts the largest outputs first, keeping their beginning and
//! marking the cut, until the outcome fits.

use fanout_core::HostOutcome;

use crate::wire;

/// Bytes of a message kept free for its headers (`Nats-Msg-Id`) and the
/// protocol line.
pub(crate) const HEADER_ROOM: usize = 1024;

/// Cuts of one outcome tried before its outputs are dropped entirely.
const MAX_CUTS: usize = 32;

/// Bytes kept free for the note that outputs were dropped.
const NOTE_ROOM: usize = 512;

/// The line appended to an output cut to fit the message limit.
pub(crate) fn cut_marker(limit: usize) -> String {
    format!("\n[fanout: output cut to fit the queue's message limit ({limit} bytes)]\n")
}

/// The encoded `outcome`, cut (largest outputs first) so that it is at most
/// `limit` bytes.
pub(crate) fn encode_within(outcome: &mut HostOutcome, limit: usize) -> Vec<u8> {
    let marker = cut_marker(limit);
    // An HTTP answer's parsed `body` repeats its `stdout`: drop it first
    // (the text stays), before cutting any text.
    if wire::encode(outcome).len() > limit {
        for output in &mut outcome.outputs {
            output.body = None;
        }
    }
    for _ in 0..MAX_CUTS {
        let bytes = wire::encode(outcome);
        if bytes.len() <= limit {
            return bytes;
        }
        let excess = bytes.len() - limit;
        let Some(text) = largest_text(outcome) else {
            break;
        };
        // Escapes make the text's JSON longer than the text: cut it in
        // proportion (a text escaped unevenly takes another round).
        let json = wire::encode(&text.as_str()).len().max(1);
        let want = json.saturating_sub(excess + 2 * marker.len());
        let keep = (text.len() as u128 * want as u128 / json as u128) as usize;
        let keep = floor_char_boundary(text, keep);
        text.truncate(keep);
        text.push_str(&marker);
    }
    // Still too large (thousands of outputs): drop the outputs' text, then
    // the last outputs, and say so in the message.
    for output in &mut outcome.outputs {
        output.stdout.clear();
        output.stdout.push_str(&marker);
        output.stderr = None;
    }
    let listed = outcome.outputs.len();
    let mut bytes = wire::encode(outcome);
    let room = limit.saturating_sub(NOTE_ROOM);
    while bytes.len() > room && !outcome.outputs.is_empty() {
        let keep = outcome.outputs.len() * room / bytes.len();
        outcome
            .outputs
            .truncate(keep.min(outcome.outputs.len() - 1));
        bytes = wire::encode(outcome);
    }
    if outcome.outputs.len() < listed {
        let note = format!(
            "[fanout: the outputs of {} of {listed} commands dropped to fit the queue's message limit ({limit} bytes)]",
            listed - outcome.outputs.len()
        );
        let message = outcome.message.get_or_insert_with(String::new);
        let cut = floor_char_boundary(message, room / 2);
        message.truncate(cut);
        if !message.is_empty() {
            message.push(' ');
        }
        message.push_str(&note);
        bytes = wire::encode(outcome);
    }
    bytes
}

/// The longest stdout or stderr of the outcome, if any is longer than a
/// marker would make it.
fn largest_text(outcome: &mut HostOutcome) -> Option<&mut String> {
    outcome
        .outputs
        .iter_mut()
        .flat_map(|o| std::iter::once(&mut o.stdout).chain(o.stderr.as_mut()))
        .max_by_key(|s| s.len())
        .filter(|s| !s.is_empty())
}

/// The largest char boundary of `s` at or below `index`.
fn floor_char_boundary(s: &str, index: usize) -> usize {
    let mut i = index.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;
    use fanout_core::{CommandOutput, Status, Worker};

    fn outcome(outputs: Vec<CommandOutput>) -> HostOutcome {
        let mut o = HostOutcome::cancelled("r1", Worker::Pid(1));
        o.status = Status::Ok;
        o.outputs = outputs;
        o
    }

    fn output(stdout: String, stderr: Option<String>) -> CommandOutput {
        CommandOutput {
            command: "show interfaces".into(),
            stdout,
            stderr,
            exit_status: None,
            ..CommandOutput::default()
        }
    }

    #[test]
    fn small_outcomes_are_untouched() {
        let mut o = outcome(vec![output("Gi0/1 up\n".into(), None)]);
        let before = o.clone();
        let bytes = encode_within(&mut o, 4096);
        assert_eq!(o, before);
        assert_eq!(bytes, wire::encode(&before));
    }

    #[test]
    fn the_largest_output_is_cut_keeping_its_start() {
        // Quotes and multi-byte characters: JSON longer than the text.
        let big = "é\"x\n".repeat(100_000);
        let mut o = outcome(vec![
            output("small\n".into(), Some("warning\n".into())),
            output(big.clone(), None),
        ]);
        let limit = 64 * 1024;
        let bytes = encode_within(&mut o, limit);
        assert!(bytes.len() <= limit, "{} > {limit}", bytes.len());
        let back: HostOutcome = wire::decode(&bytes, "outcome").unwrap();
        assert_eq!(back, o);
        assert_eq!(o.outputs[0].stdout, "small\n", "the small output is kept");
        let cut = &o.outputs[1].stdout;
        assert!(cut.ends_with(&cut_marker(limit)), "the cut is marked");
        let kept = cut.strip_suffix(&cut_marker(limit)).unwrap();
        assert!(big.starts_with(kept), "the beginning is kept");
        assert!(kept.len() > limit / 4, "not cut more than needed");
    }

    #[test]
    fn many_outputs_still_fit() {
        let outputs = (0..2000)
            .map(|_| output("x".repeat(200), Some("y".repeat(200))))
            .collect();
        let mut o = outcome(outputs);
        let limit = 16 * 1024;
        let bytes = encode_within(&mut o, limit);
        assert!(bytes.len() <= limit, "{} > {limit}", bytes.len());
        let back: HostOutcome = wire::decode(&bytes, "outcome").unwrap();
        assert_eq!(back.status, Status::Ok);
        assert!(!back.outputs.is_empty(), "the first outputs are kept");
        let message = back.message.unwrap_or_default();
        assert!(message.contains("of 2000 commands dropped"), "{message}");
    }
}
