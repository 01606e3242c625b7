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
//! Two gaps of libmudtelnet 2.0.2, found by the property tests
//! (`crates/transport/tests/policy/telnet.rs`), are closed here: an escaped
//! data byte 0xFF (`IAC IAC`) comes out as an IAC command, not as data; and
//! whatever follows an `IAC SB MCCP2|MCCP3 ... IAC SE` in the same read is
//! dropped when compression is off (always, here), so reads are handed to
//! it in pieces that end at each SE byte.

use libmudtelnet::Parser;
use libmudtelnet::compatibility::CompatibilityTable;
use libmudtelnet::events::TelnetEvents;
use libmudtelnet::telnet::op_command::{DO, DONT, IAC, SB, SE, WILL, WONT};
use libmudtelnet::telnet::op_option::{ECHO, SGA};

/// One connection's telnet parser state.
pub struct Codec {
    parser: Parser,
    /// A lone IAC that ended the last read (its pair or command byte comes
    /// next), held back so that an `IAC IAC` is always handed over whole.
    held_iac: bool,
    /// The last read ended with `IAC WILL|WONT|DO|DONT|SB`: the next byte
    /// is an option number (255 is one, EXOPL), not the start of a command.
    option_next: bool,
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
            held_iac: false,
            option_next: false,
        }
    }

    /// Bytes read from the socket: `(data, answers)`, the device's data
    /// (IAC IAC unescaped, commands removed) and the negotiation answers to
    /// write back. A command split across reads is kept for the next call.
    pub fn receive(&mut self, raw: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let mut input = Vec::with_capacity(raw.len() + 1);
        if std::mem::take(&mut self.held_iac) {
            input.push(IAC);
        }
        input.extend_from_slice(raw);
        let (mut data, mut answers) = (Vec::new(), Vec::new());
        let mut feed = |piece: &[u8]| {
            for event in self.parser.receive(piece) {
                match event {
                    TelnetEvents::DataReceive(b) => data.extend_from_slice(&b),
                    TelnetEvents::DataSend(b) => answers.extend_from_slice(&b),
                    // `IAC IAC` on its own: the data byte 0xFF.
                    TelnetEvents::IAC(iac) if iac.command == IAC => data.push(IAC),
                    _ => {}
                }
            }
        };
        // Each `IAC IAC` goes in alone (libmudtelnet takes it for the start
        // of a command otherwise), the rest in pieces ending at each SE.
        let (mut start, mut i) = (0, usize::from(std::mem::take(&mut self.option_next)));
        while i < input.len() {
            if input[i] != IAC {
                i += 1;
                continue;
            }
            match input.get(i + 1) {
                Some(&IAC) => {
                    input[start..i]
                        .split_inclusive(|b| *b == SE)
                        .for_each(&mut feed);
                    feed(&input[i..i + 2]);
                    i += 2;
                    start = i;
                }
                // A negotiation or subnegotiation: the option byte after it
                // may be 255 and is not a command.
                Some(&(WILL | WONT | DO | DONT | SB)) => {
                    i += 3;
                    self.option_next = i == input.len() + 1;
                }
                // Another command: its byte is not an IAC.
                Some(_) => i += 2,
                None => {
                    self.held_iac = true;
                    break;
                }
            }
        }
        let end = if self.held_iac {
            input.len() - 1
        } else {
            input.len()
        };
        input[start..end.max(start)]
            .split_inclusive(|b| *b == SE)
            .for_each(&mut feed);
        (data, answers)
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
