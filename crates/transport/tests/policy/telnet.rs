//! The telnet layer (`fanout_transport::telnet::Codec`, libmudtelnet
//! underneath) against device byte streams proptest makes up: data mixed
//! with option negotiations, subnegotiations and other commands, cut into
//! reads at random points. Whatever the cuts, the data and the answers are
//! the same as for one read; the data is what the device sent; the answers
//! are exactly what RFC 1143 calls for under the client's policy (accept
//! the server's ECHO and SGA, refuse the rest, enable nothing itself, never
//! answer a request for the state an option is already in: no negotiation
//! loop). Arbitrary bytes never panic.
//!
//! Found so far (regression cases in `telnet/codec.rs` and the seeds in
//! `telnet.proptest-regressions`): libmudtelnet dropped the data after
//! `IAC SB MCCP2 ... IAC SE` in the same read, lost an escaped 0xFF data
//! byte and what followed it, and took a subnegotiation split across reads
//! for finished when its bytes so far ended in 255 240; the first fixes
//! mistook option 255 (`IAC WILL IAC`, `IAC SB IAC`) for an escaped 0xFF.

use fanout_transport::telnet::Codec;
use proptest::prelude::*;

const IAC: u8 = 255;
const SE: u8 = 240;
const NOP: u8 = 241;
const GA: u8 = 249;
const SB: u8 = 250;
const WILL: u8 = 251;
const WONT: u8 = 252;
const DO: u8 = 253;
const DONT: u8 = 254;
const ECHO: u8 = 1;
const SGA: u8 = 3;

/// One piece of what a device sends.
#[derive(Clone, Debug)]
enum Piece {
    /// Data bytes (a 0xFF goes on the wire escaped, as IAC IAC).
    Data(Vec<u8>),
    /// IAC WILL/WONT/DO/DONT option.
    Negotiate(u8, u8),
    /// IAC SB option payload IAC SE (a 0xFF of the payload escaped).
    Sub(u8, Vec<u8>),
    /// IAC NOP or IAC GA.
    Command(u8),
}

fn piece() -> impl Strategy<Value = Piece> {
    // Options from the common ones, 255 (EXOPL, the IAC byte) and any other.
    let option = prop_oneof![
        Just(ECHO),
        Just(SGA),
        Just(24u8),
        Just(31u8),
        Just(255u8),
        any::<u8>()
    ];
    let bytes = proptest::collection::vec(any::<u8>(), 1..40);
    prop_oneof![
        3 => bytes.prop_map(Piece::Data),
        2 => (prop_oneof![Just(WILL), Just(WONT), Just(DO), Just(DONT)], option.clone())
            .prop_map(|(verb, o)| Piece::Negotiate(verb, o)),
        1 => (option, proptest::collection::vec(any::<u8>(), 0..12))
            .prop_map(|(o, p)| Piece::Sub(o, p)),
        1 => prop_oneof![Just(NOP), Just(GA)].prop_map(Piece::Command),
    ]
}

/// `bytes` with each 0xFF doubled, as telnet sends a data 0xFF.
fn escaped(bytes: &[u8], out: &mut Vec<u8>) {
    for b in bytes {
        out.push(*b);
        if *b == IAC {
            out.push(IAC);
        }
    }
}

/// The answers RFC 1143 calls for, with the client's policy: the server may
/// enable ECHO and SGA (a WILL is accepted with DO once, a WONT of an
/// enabled one acknowledged with DONT), any other WILL is refused with
/// DONT, every DO with WONT (the client enables nothing itself), and a
/// request for the state an option is already in gets no answer.
fn expected_answers(pieces: &[Piece]) -> Vec<u8> {
    let mut enabled = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for p in pieces {
        let Piece::Negotiate(verb, o) = *p else {
            continue;
        };
        let supported = o == ECHO || o == SGA;
        match verb {
            WILL if supported && enabled.insert(o) => out.extend([IAC, DO, o]),
            WILL if !supported => out.extend([IAC, DONT, o]),
            WONT if enabled.remove(&o) => out.extend([IAC, DONT, o]),
            DO => out.extend([IAC, WONT, o]),
            _ => {}
        }
    }
    out
}

fn bytes(pieces: &[Piece]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in pieces {
        match p {
            Piece::Data(d) => escaped(d, &mut out),
            Piece::Negotiate(verb, o) => out.extend_from_slice(&[IAC, *verb, *o]),
            Piece::Sub(o, payload) => {
                out.extend_from_slice(&[IAC, SB, *o]);
                escaped(payload, &mut out);
                out.extend_from_slice(&[IAC, SE]);
            }
            Piece::Command(c) => out.extend_from_slice(&[IAC, *c]),
        }
    }
    out
}

/// Feeds `raw` to a fresh codec in reads cut at `cuts` (positions, any order).
fn feed(raw: &[u8], cuts: &[usize]) -> (Vec<u8>, Vec<u8>) {
    let mut at: Vec<usize> = cuts.iter().map(|c| c % (raw.len() + 1)).collect();
    at.push(0);
    at.push(raw.len());
    at.sort_unstable();
    at.dedup();
    let mut codec = Codec::new();
    let (mut data, mut answers) = (Vec::new(), Vec::new());
    for w in at.windows(2) {
        let (d, a) = codec.receive(&raw[w[0]..w[1]]);
        data.extend(d);
        answers.extend(a);
    }
    (data, answers)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_same_stream_cut_anywhere_gives_the_same_data_and_answers(
        pieces in proptest::collection::vec(piece(), 0..40),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
    ) {
        let raw = bytes(&pieces);
        let whole = feed(&raw, &[]);
        prop_assert_eq!(feed(&raw, &cuts), whole.clone());
        // Byte by byte, the hardest cut of all.
        let every: Vec<usize> = (0..raw.len()).collect();
        prop_assert_eq!(feed(&raw, &every), whole);
    }

    #[test]
    fn the_data_is_what_the_device_sent_and_the_answers_what_rfc_1143_calls_for(
        pieces in proptest::collection::vec(piece(), 0..40),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
    ) {
        let raw = bytes(&pieces);
        let (data, answers) = feed(&raw, &cuts);
        let sent: Vec<u8> = pieces
            .iter()
            .filter_map(|p| match p { Piece::Data(d) => Some(d.clone()), _ => None })
            .flatten()
            .collect();
        prop_assert_eq!(data, sent);
        prop_assert_eq!(answers, expected_answers(&pieces));
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_escaped_data_round_trips(
        raw in proptest::collection::vec(any::<u8>(), 0..400),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
        text in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let _ = feed(&raw, &cuts);
        // What the client sends is escaped; read back, it is the text.
        let encoded = Codec::encode(&text);
        prop_assert_eq!(feed(&encoded, &cuts).0, text);
    }
}
