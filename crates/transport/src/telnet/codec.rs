//! The telnet protocol layer of the client, through libmudtelnet (a
//! maintained sans-IO parser: IAC unescaping, option negotiation answered
//! from a support table): bytes off the socket become the device's data
//! and the negotiation answers to send back; data to send is IAC-escaped.
//!
//! Option policy (scrapli's and netmiko's practice): the client accepts
//! the server's ECHO and SGA (character mode, as IOS offers it) and refuses
//! every other option either side proposes (DONT for a WILL, WONT for a
//! DO). The client proposes nothing itself.
//!
//! The property tests (`crates/transport/tests/policy/telnet.rs`) found
//! libmudtelnet 2.0.2 losing data: an escaped data byte 0xFF (`IAC IAC`)
//! and what followed it in the read; whatever followed an `IAC SB
//! MCCP2|MCCP3 ... IAC SE` in the same read; and the data after a
//! subnegotiation split across reads whose bytes happened to end in 255
//! 240. So the codec frames the stream itself, just enough to hand the
//! library only whole data runs, commands and negotiations: it unescapes
//! `IAC IAC`, skips subnegotiations (of options the client never enables,
//! so they carry nothing it needs), and carries an unfinished command over
//! to the next read. The library still does the negotiation.

use libmudtelnet::Parser;
use libmudtelnet::compatibility::CompatibilityTable;
use libmudtelnet::events::TelnetEvents;
use libmudtelnet::telnet::op_command::{DO, DONT, IAC, SB, SE, WILL, WONT};
use libmudtelnet::telnet::op_option::{ECHO, SGA};

/// One connection's telnet parser state.
pub struct Codec {
    parser: Parser,
    /// The unfinished command that ended the last read (`IAC`, or `IAC`
    /// and a verb), completed by the next one.
    carry: Vec<u8>,
    /// Where in a subnegotiation the stream is (`IAC SB` seen, its `IAC
    /// SE` not yet), if in one.
    sub: Option<Sub>,
}

/// The parts of `IAC SB option ... IAC SE` after `IAC SB`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sub {
    /// The option byte comes next (it may be 255).
    Option,
    /// Its payload.
    Body,
    /// Its payload, the last byte an IAC.
    BodyIac,
}

impl std::fmt::Debug for Codec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Codec").finish_non_exhaustive()
    }
}

impl Default for Codec {
    fn default() -> Self {
        Self::new()
    }
}

impl Codec {
    /// A client that accepts the server's ECHO and SGA and refuses the rest.
    pub fn new() -> Self {
        let mut table = CompatibilityTable::new();
        table.support_remote(ECHO);
        table.support_remote(SGA);
        Self {
            parser: Parser::with_support(table),
            carry: Vec::new(),
            sub: None,
        }
    }

    /// Bytes read from the socket: `(data, answers)`, the device's data
    /// (IAC IAC unescaped, commands removed) and the negotiation answers to
    /// write back. A command split across reads is kept for the next call.
    pub fn receive(&mut self, raw: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let mut input = std::mem::take(&mut self.carry);
        input.extend_from_slice(raw);
        let mut out = (Vec::new(), Vec::new());
        let parser = &mut self.parser;
        let mut feed = |out: &mut (Vec<u8>, Vec<u8>), piece: &[u8]| {
            if piece.is_empty() {
                return;
            }
            for event in parser.receive(piece) {
                match event {
                    TelnetEvents::DataReceive(b) => out.0.extend_from_slice(&b),
                    TelnetEvents::DataSend(b) => out.1.extend_from_slice(&b),
                    _ => {}
                }
            }
        };
        // libmudtelnet gets only whole data runs, commands and
        // negotiations; escaped 0xFF bytes and subnegotiations (of options
        // the client never enables, so they carry nothing it needs) are
        // taken out here.
        let (mut start, mut i) = (0, 0);
        while i < input.len() {
            if let Some(part) = self.sub {
                self.sub = match (part, input[i]) {
                    (Sub::BodyIac, SE) => None,
                    (Sub::Body, IAC) => Some(Sub::BodyIac),
                    _ => Some(Sub::Body),
                };
                i += 1;
                start = i;
                continue;
            }
            if input[i] != IAC {
                i += 1;
                continue;
            }
            let Some(&command) = input.get(i + 1) else {
                break; // an IAC ends the read: carried over
            };
            match command {
                IAC => {
                    feed(&mut out, &input[start..i]);
                    out.0.push(IAC);
                    i += 2;
                    start = i;
                }
                SB => {
                    feed(&mut out, &input[start..i]);
                    self.sub = Some(Sub::Option);
                    i += 2;
                    start = i;
                }
                WILL | WONT | DO | DONT if i + 2 >= input.len() => break,
                WILL | WONT | DO | DONT => i += 3,
                _ => i += 2,
            }
        }
        let end = i.min(input.len());
        feed(&mut out, &input[start..end]);
        self.carry = input[end..].to_vec();
        out
    }

    /// Data to send, IAC-escaped.
    pub fn encode(bytes: &[u8]) -> Vec<u8> {
        Parser::escape_iac(bytes.to_vec()).to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IAC: u8 = 255;
    const WILL: u8 = 251;
    const WONT: u8 = 252;
    const DO: u8 = 253;
    const DONT: u8 = 254;
    const NAWS: u8 = 31;
    const SB: u8 = 250;
    const MCCP2: u8 = 86;
    const TTYPE: u8 = 24;

    #[test]
    fn echo_and_sga_are_accepted_everything_else_refused() {
        let mut codec = Codec::new();
        let (data, answers) = codec.receive(&[
            IAC, WILL, ECHO, IAC, WILL, SGA, b'h', b'i', IAC, DO, NAWS, IAC, WILL, TTYPE,
        ]);
        assert_eq!(data, b"hi");
        assert_eq!(
            answers,
            [
                IAC, DO, ECHO, IAC, DO, SGA, IAC, WONT, NAWS, IAC, DONT, TTYPE
            ]
        );
        // Already agreed: no second answer (no negotiation loop).
        let (_, answers) = codec.receive(&[IAC, WILL, ECHO]);
        assert!(answers.is_empty(), "{answers:?}");
    }

    #[test]
    fn option_255_is_an_option_not_an_escaped_data_byte() {
        // IAC WILL EXOPL (255), then a data 0xFF and `x`: refused, kept.
        let (data, answers) = Codec::new().receive(&[IAC, WILL, IAC, IAC, IAC, b'x']);
        assert_eq!((data, answers), (vec![IAC, b'x'], vec![IAC, DONT, IAC]));
        // IAC DO EXOPL at the end of a read is answered at once.
        let (_, answers) = Codec::new().receive(&[b'a', IAC, DO, IAC]);
        assert_eq!(answers, [IAC, WONT, IAC]);
        // A read ending in IAC DO: the next read's first byte is the option.
        let mut codec = Codec::new();
        let (_, first) = codec.receive(&[IAC, DO]);
        let (data, more) = codec.receive(&[IAC, b'y']);
        assert_eq!(
            (first, more, data),
            (vec![], vec![IAC, WONT, IAC], vec![b'y'])
        );
    }

    #[test]
    fn data_after_an_unasked_for_compression_subnegotiation_is_kept() {
        // libmudtelnet alone returns nothing after the SE here.
        let (data, answers) = Codec::new().receive(&[IAC, SB, MCCP2, IAC, SE, b'o', b'k']);
        assert_eq!((data.as_slice(), answers.as_slice()), (&b"ok"[..], &[][..]));
    }

    #[test]
    fn iac_is_escaped_out_and_a_command_split_across_reads_is_kept() {
        assert_eq!(Codec::encode(&[b'a', IAC, b'b']), [b'a', IAC, IAC, b'b']);
        assert_eq!(
            Codec::new().receive(&[b'a', IAC, IAC, b'b']).0,
            [b'a', IAC, b'b']
        );
        let mut codec = Codec::new();
        let (data, answers) = codec.receive(&[b'x', IAC]);
        assert_eq!(data, b"x");
        let (data, more) = codec.receive(&[WILL, SGA, b'z']);
        assert_eq!(data, b"z");
        assert_eq!([answers, more].concat(), [IAC, DO, SGA]);
    }
}
