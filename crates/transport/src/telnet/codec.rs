//! The telnet protocol layer of the client, through libmudtelnet (a
//! maintained sans-IO parser: IAC unescaping, option negotiation answered
//! from a support table): bytes off the socket become the device's data
//! and the negotiation answers to send back; data to send is IAC-escaped.
//!
//! Option policy (scrapli's and netmiko's practice): the client accepts
//! the server's ECHO and SGA (character mode, as IOS offers it) and refuses
//! every other option either side proposes (DONT for a WILL, WONT for a
//! DO). The client proposes nothing itself.

use libmudtelnet::Parser;
use libmudtelnet::compatibility::CompatibilityTable;
use libmudtelnet::events::TelnetEvents;
use libmudtelnet::telnet::op_option::{ECHO, SGA};

/// One connection's telnet parser state.
pub struct Codec {
    parser: Parser,
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
        }
    }

    /// Bytes read from the socket: `(data, answers)`, the device's data
    /// (IAC IAC unescaped, commands removed) and the negotiation answers to
    /// write back. A command split across reads is kept for the next call.
    pub fn receive(&mut self, raw: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let (mut data, mut answers) = (Vec::new(), Vec::new());
        for event in self.parser.receive(raw) {
            match event {
                TelnetEvents::DataReceive(b) => data.extend_from_slice(&b),
                TelnetEvents::DataSend(b) => answers.extend_from_slice(&b),
                _ => {}
            }
        }
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
    fn iac_is_escaped_out_and_a_command_split_across_reads_is_kept() {
        // (Incoming IAC IAC, a 0xFF data byte, is not checked: libmudtelnet
        // 2.0.2 drops it; 0xFF never occurs in ASCII or UTF-8 CLI text.)
        assert_eq!(Codec::encode(&[b'a', IAC, b'b']), [b'a', IAC, IAC, b'b']);
        let mut codec = Codec::new();
        let (data, answers) = codec.receive(&[b'x', IAC]);
        assert_eq!(data, b"x");
        let (data, more) = codec.receive(&[WILL, SGA, b'z']);
        assert_eq!(data, b"z");
        assert_eq!([answers, more].concat(), [IAC, DO, SGA]);
    }
}
