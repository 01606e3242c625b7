//! Where the YAML tree builder gets its events: straight from the parser,
//! or, for a large file, from the parser running on a thread of its own and
//! handing over batches, so that parsing and building overlap.

use std::sync::mpsc::{Receiver, SyncSender};

use serde_saphyr::granit_parser::{Event, Parser, ScanError, Span, StrInput};

/// From this many bytes on, parsing and building run on two threads.
pub(crate) const PIPE_FROM: usize = 1 << 20;

/// One parser step: an event, or the error that ends the stream.
pub(crate) type Step<'a> = Result<(Event<'a>, Span), ScanError>;

/// Where the builder gets its events.
pub(crate) enum Events<'a> {
    Direct(Box<Parser<'a, StrInput<'a>>>),
    Piped(Receiver<Vec<Step<'a>>>, std::vec::IntoIter<Step<'a>>),
}

impl<'a> Events<'a> {
    pub(crate) fn next_event(&mut self) -> Option<Step<'a>> {
        match self {
            Events::Direct(parser) => parser.next_event(),
            Events::Piped(rx, batch) => loop {
                if let Some(step) = batch.next() {
                    return Some(step);
                }
                *batch = rx.recv().ok()?.into_iter();
            },
        }
    }
}

/// Runs the parser, sending its structural events in batches until the
/// stream ends, fails, or the builder stops listening.
pub(crate) fn produce<'a>(mut parser: Parser<'a, StrInput<'a>>, tx: &SyncSender<Vec<Step<'a>>>) {
    const BATCH: usize = 4096;
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let step = parser.next_event();
        let last = match &step {
            None => true,
            Some(Err(_)) | Some(Ok((Event::StreamEnd, _))) => true,
            Some(Ok((Event::Comment(..), _))) => continue,
            Some(Ok(_)) => false,
        };
        batch.extend(step);
        if last || batch.len() == BATCH {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
            if tx.send(full).is_err() || last {
                return;
            }
        }
    }
}
