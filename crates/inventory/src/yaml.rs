//! YAML text -> a small tree that keeps the position of every key and value.
//!
//! Built from `granit-parser` events (the parser under `serde-saphyr`,
//! re-exported by it) so that keys have positions too, scalars keep the text
//! as written, and duplicate keys can be reported with both positions.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use serde_saphyr::granit_parser::{
    ErrorKind, Event, Options, Parser, ScalarStyle, ScanError, Span, StructureStyle,
};

use crate::error::Problems;
use crate::events::{Events, PIPE_FROM, Step, produce};

/// How many values one document may hold: as written (`plain`, keys
/// included), and added by aliases (`alias`: each `*name` adds a copy of
/// what `&name` holds, and each anchor keeps one copy). Counted apart so
/// that a million hosts written out load while an alias bomb (a
/// "billion laughs" document: a few lines that expand to billions of
/// values) is refused early.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub(crate) plain: usize,
    pub(crate) alias: usize,
}

impl Limits {
    /// 50 million written values (two million hosts of 25 values);
    /// aliases may add 2 million (a 20-value `<<: *common` merged into each
    /// of 100,000 hosts: beyond that `defaults:` and groups say the same
    /// without copies), so that a bomb is refused before it takes much memory.
    pub(crate) const DEFAULT: Limits = Limits {
        plain: 50_000_000,
        alias: 2_000_000,
    };
}

/// A place in an inventory: its file (an index into
/// [`Problems`]' files; 0 is the inventory itself), 1-based line and column
/// (in characters).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Pos {
    pub(crate) file: u32,
    pub(crate) line: u32,
    pub(crate) col: u32,
}

/// `n` as a line or column (files of 4 billion lines are refused long before).
pub(crate) fn small(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Pos {
    /// Line 1, column 1 of `file`.
    pub(crate) fn start(file: u32) -> Pos {
        Pos {
            file,
            line: 1,
            col: 1,
        }
    }

    fn of(file: u32, span: &Span) -> Pos {
        Pos {
            file,
            line: small(span.start.line().max(1)),
            col: small(span.start.col() + 1),
        }
    }
}

/// A YAML value with the position where it starts.
#[derive(Clone, Debug)]
pub(crate) struct Node<'a> {
    pub(crate) pos: Pos,
    pub(crate) kind: Kind<'a>,
}

/// The three YAML node kinds.
#[derive(Clone, Debug)]
pub(crate) enum Kind<'a> {
    /// A scalar as written (after quote/escape processing; borrowed from
    /// the document's text when it needed none); `plain` is false for
    /// quoted, block and `!!str` scalars, which are always text.
    Scalar {
        text: Cow<'a, str>,
        plain: bool,
    },
    Seq(Vec<Node<'a>>),
    Map(Vec<Entry<'a>>),
}

/// One `key: value` pair of a mapping.
#[derive(Clone, Debug)]
pub(crate) struct Entry<'a> {
    pub(crate) key: Cow<'a, str>,
    pub(crate) key_pos: Pos,
    pub(crate) value: Node<'a>,
}

impl Node<'_> {
    /// `~`, `null` or nothing at all.
    pub(crate) fn is_null(&self) -> bool {
        matches!(&self.kind, Kind::Scalar { text, plain: true }
            if matches!(&**text, "" | "~" | "null" | "Null" | "NULL"))
    }

    /// The text of a non-null scalar.
    pub(crate) fn text(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { text, .. } if !self.is_null() => Some(text),
            _ => None,
        }
    }

    /// The text of an unquoted scalar (numbers, booleans).
    pub(crate) fn plain_text(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { text, plain: true } if !self.is_null() => Some(text),
            _ => None,
        }
    }

    /// "a list", "a map", "text" or "empty", for messages.
    pub(crate) fn describe(&self) -> &'static str {
        match &self.kind {
            _ if self.is_null() => "empty",
            Kind::Scalar { .. } => "a single value",
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a map",
        }
    }
}

/// A YAML syntax error: the first one only.
#[derive(Debug)]
pub(crate) struct SyntaxError {
    pub(crate) pos: Pos,
    pub(crate) message: String,
}

/// Parses the first document of file number `file`; `None` when the file
/// holds no value at all. Duplicate keys, non-text keys and extra documents
/// go to `problems`.
pub(crate) fn parse<'a>(
    text: &'a str,
    file: u32,
    problems: &mut Problems,
) -> Result<Option<Node<'a>>, SyntaxError> {
    parse_with_limits(text, file, problems, Limits::DEFAULT)
}

/// [`parse`] with other [`Limits`].
pub(crate) fn parse_with_limits<'a>(
    text: &'a str,
    file: u32,
    problems: &mut Problems,
    limits: Limits,
) -> Result<Option<Node<'a>>, SyntaxError> {
    let mut options = Options::default();
    options.emit_comments = false;
    let parser = Parser::new_from_str_with_options(text, options);
    if text.len() < PIPE_FROM {
        return build(Events::Direct(Box::new(parser)), file, problems, limits);
    }
    // A large file: the parser runs on its own thread, handing over batches
    // of events, while this one builds the tree.
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Step<'_>>>(4);
        scope.spawn(move || produce(parser, &tx));
        build(
            Events::Piped(rx, Vec::new().into_iter()),
            file,
            problems,
            limits,
        )
    })
}

pub(crate) fn build<'a>(
    events: Events<'a>,
    file: u32,
    problems: &mut Problems,
    limits: Limits,
) -> Result<Option<Node<'a>>, SyntaxError> {
    let mut b = Builder {
        parser: events,
        file,
        anchors: HashMap::new(),
        limits,
        plain_left: limits.plain,
        alias_left: limits.alias,
        problems,
        last: Pos::start(file),
        open_flow: Vec::new(),
    };
    loop {
        let (ev, _) = b.next()?;
        match ev {
            Event::StreamEnd => return Ok(None),
            Event::DocumentStart(..) => break,
            _ => {}
        }
    }
    let (ev, span) = b.next()?;
    let root = b.node(ev, span)?;
    loop {
        let (ev, span) = b.next()?;
        match ev {
            Event::StreamEnd => break,
            Event::DocumentStart(..) => {
                let (ev, first) = b.next()?;
                let extra = b.node(ev, first)?;
                if !extra.is_null() {
                    b.problems.push(
                        Pos::of(b.file, &span),
                        "a second YAML document starts here; an inventory is one document: \
                         remove this `---` and merge the two, or split them into two files",
                    );
                    break;
                }
            }
            _ => {}
        }
    }
    Ok((!root.is_null()).then_some(root))
}

struct Builder<'a, 'p> {
    parser: Events<'a>,
    file: u32,
    /// Anchor id -> (node, number of values in it).
    anchors: HashMap<usize, (Node<'a>, usize)>,
    limits: Limits,
    /// Values the document may still hold as written.
    plain_left: usize,
    /// Values aliases may still add.
    alias_left: usize,
    problems: &'p mut Problems,
    last: Pos,
    /// The `[` / `{` collections being read, to name an unclosed one.
    open_flow: Vec<(char, Pos)>,
}

impl<'a> Builder<'a, '_> {
    /// The next structural event (comments and metadata skipped).
    fn next(&mut self) -> Result<(Event<'a>, Span), SyntaxError> {
        loop {
            match self.parser.next_event() {
                None => {
                    return Err(SyntaxError {
                        pos: self.last,
                        message: "the file ends in the middle of a value; \
                                  check for a missing closing bracket or quote"
                            .into(),
                    });
                }
                Some(Err(e)) => {
                    return Err(syntax_error(self.file, &e, self.open_flow.last().copied()));
                }
                Some(Ok((ev, span))) => {
                    self.last = Pos::of(self.file, &span);
                    match ev {
                        Event::StreamStart
                        | Event::StreamEnd
                        | Event::DocumentStart(..)
                        | Event::DocumentEnd
                        | Event::Alias(_)
                        | Event::Scalar(..)
                        | Event::SequenceStart(..)
                        | Event::SequenceEnd
                        | Event::MappingStart(..)
                        | Event::MappingEnd => return Ok((ev, span)),
                        _ => {}
                    }
                }
            }
        }
    }

    /// One more value as written.
    fn charge_plain(&mut self, pos: Pos) -> Result<(), SyntaxError> {
        self.plain_left = self.plain_left.checked_sub(1).ok_or_else(|| SyntaxError {
            pos,
            message: format!(
                "this document holds more than {} values (keys included), the limit for one inventory; \
                 split it into several files",
                self.limits.plain
            ),
        })?;
        Ok(())
    }

    /// `n` values added by an alias (or an anchor's copy).
    fn charge_alias(&mut self, pos: Pos, n: usize) -> Result<(), SyntaxError> {
        self.alias_left = self.alias_left.checked_sub(n).ok_or_else(|| SyntaxError {
            pos,
            message: format!(
                "anchors and aliases add more than {} values to this document (the limit for what aliases expand to, \
                 apart from the values written out); use fewer (or less nested) anchors and aliases",
                self.limits.alias
            ),
        })?;
        Ok(())
    }

    /// Keeps a copy of an anchored node; the copy counts as expansion too,
    /// or nested anchors could copy the document hundreds of times.
    fn remember(&mut self, anchor: usize, node: &Node<'a>) -> Result<(), SyntaxError> {
        if anchor != 0 {
            let n = size(node);
            self.charge_alias(node.pos, n)?;
            self.anchors.insert(anchor, (node.clone(), n));
        }
        Ok(())
    }

    fn node(&mut self, ev: Event<'a>, span: Span) -> Result<Node<'a>, SyntaxError> {
        let pos = Pos::of(self.file, &span);
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                self.charge_plain(pos)?;
                let tagged_str = tag.as_ref().is_some_and(|t| t.is_yaml_core_schema_tag("str"));
                let node = Node {
                    pos,
                    kind: Kind::Scalar {
                        text,
                        plain: style == ScalarStyle::Plain && !tagged_str,
                    },
                };
                self.remember(anchor, &node)?;
                Ok(node)
            }
            Event::SequenceStart(style, anchor, _) => {
                self.charge_plain(pos)?;
                if style == StructureStyle::Flow {
                    self.open_flow.push(('[', pos));
                }
                let mut items = Vec::new();
                loop {
                    let (ev, span) = self.next()?;
                    if matches!(ev, Event::SequenceEnd) {
                        break;
                    }
                    items.push(self.node(ev, span)?);
                }
                if style == StructureStyle::Flow {
                    self.open_flow.pop();
                }
                let node = Node {
                    pos,
                    kind: Kind::Seq(items),
                };
                self.remember(anchor, &node)?;
                Ok(node)
            }
            Event::MappingStart(style, anchor, _) => {
                self.charge_plain(pos)?;
                if style == StructureStyle::Flow {
                    self.open_flow.push(('{', pos));
                }
                let node = self.mapping(pos)?;
                if style == StructureStyle::Flow {
                    self.open_flow.pop();
                }
                self.remember(anchor, &node)?;
                Ok(node)
            }
            Event::Alias(id) => match self.anchors.get(&id) {
                Some(&(_, n)) => {
                    // Charged before copying: the copy may be what is too big.
                    self.charge_alias(pos, n)?;
                    Ok(self.anchors[&id].0.clone())
                }
                None => Err(SyntaxError {
                    pos,
                    message: "this alias refers to an unknown anchor; define `&name` before using `*name`"
                        .into(),
                }),
            },
            _ => Err(SyntaxError {
                pos,
                message: "expected a value here; check the indentation".into(),
            }),
        }
    }

    fn mapping(&mut self, pos: Pos) -> Result<Node<'a>, SyntaxError> {
        let mut entries: Vec<Entry> = Vec::new();
        let mut seen = Seen::default();
        let mut merged: Vec<Entry> = Vec::new();
        let mut merged_keys: HashSet<Cow<'a, str>> = HashSet::new();
        loop {
            let (ev, span) = self.next()?;
            if matches!(ev, Event::MappingEnd) {
                break;
            }
            let key = self.node(ev, span)?;
            let (ev, span) = self.next()?;
            let value = self.node(ev, span)?;
            let Kind::Scalar { text, plain } = key.kind else {
                self.problems.push(
                    key.pos,
                    format!(
                        "this key is {}; keys must be names: write `name: value`",
                        key_description(&key.kind)
                    ),
                );
                continue;
            };
            if plain && text == "<<" {
                self.merge(value, &mut merged, &mut merged_keys);
                continue;
            }
            if let Some(first) = seen.get(&entries, &text) {
                let first = self.problems.at(first);
                self.problems.push(
                    key.pos,
                    format!(
                        "duplicate key `{text}` (first at {first}); YAML keys must be unique: \
                         remove or rename one of them"
                    ),
                );
                continue;
            }
            seen.add(&entries, &text);
            entries.push(Entry {
                key: text,
                key_pos: key.pos,
                value,
            });
        }
        for entry in merged {
            if seen.get(&entries, &entry.key).is_none() {
                seen.add(&entries, &entry.key);
                entries.push(entry);
            }
        }
        Ok(Node {
            pos,
            kind: Kind::Map(entries),
        })
    }

    /// `<<: *a` or `<<: [*a, *b]`: earlier sources win, explicit keys win over all.
    fn merge(
        &mut self,
        value: Node<'a>,
        merged: &mut Vec<Entry<'a>>,
        merged_keys: &mut HashSet<Cow<'a, str>>,
    ) {
        let sources = match value.kind {
            Kind::Seq(items) => items,
            Kind::Map(_) => vec![value],
            _ => {
                self.problems.push(
                    value.pos,
                    "`<<` merges maps: write `<<: *anchor` or `<<: [*a, *b]`",
                );
                return;
            }
        };
        for source in sources {
            match source.kind {
                Kind::Map(entries) => {
                    for entry in entries {
                        if merged_keys.insert(entry.key.clone()) {
                            merged.push(entry);
                        }
                    }
                }
                _ => self.problems.push(
                    source.pos,
                    "`<<` merges maps: each source must be a map (`&anchor` on a map)",
                ),
            }
        }
    }
}

/// The keys of one mapping so far, to find duplicates: a scan of the
/// entries while the map is small (most are: one host's settings), an index
/// once it is large (`hosts:`).
#[derive(Default)]
struct Seen<'a> {
    index: Option<HashMap<Cow<'a, str>, usize>>,
}

impl<'a> Seen<'a> {
    /// Scanned up to this many entries; indexed beyond.
    const SCAN: usize = 16;

    /// Where `key` was first written, if it was.
    fn get(&self, entries: &[Entry], key: &str) -> Option<Pos> {
        match &self.index {
            Some(index) => index.get(key).map(|&i| entries[i].key_pos),
            None => entries.iter().find(|e| e.key == key).map(|e| e.key_pos),
        }
    }

    /// Records that `key` is about to be pushed as entry `entries.len()`.
    // A `&Cow`, not a `&str`: the index keeps a clone, free when borrowed.
    #[allow(clippy::ptr_arg)]
    fn add(&mut self, entries: &[Entry<'a>], key: &Cow<'a, str>) {
        match &mut self.index {
            Some(index) => {
                index.insert(key.clone(), entries.len());
            }
            None if entries.len() + 1 >= Self::SCAN => {
                let mut index: HashMap<Cow<'a, str>, usize> = entries
                    .iter()
                    .enumerate()
                    .map(|(i, e)| (e.key.clone(), i))
                    .collect();
                index.insert(key.clone(), entries.len());
                self.index = Some(index);
            }
            None => {}
        }
    }
}

fn key_description(kind: &Kind) -> &'static str {
    match kind {
        Kind::Seq(_) => "a list",
        _ => "a map",
    }
}

/// Number of values in a node.
fn size(node: &Node) -> usize {
    1 + match &node.kind {
        Kind::Scalar { .. } => 0,
        Kind::Seq(items) => items.iter().map(size).sum(),
        Kind::Map(entries) => entries.iter().map(|e| 1 + size(&e.value)).sum(),
    }
}

/// The parser's message with a hint; an unclosed `[`/`{` is reported where
/// it opens (`open_flow`: the innermost one being read).
fn syntax_error(file: u32, e: &ScanError, open_flow: Option<(char, Pos)>) -> SyntaxError {
    let m = e.marker();
    let at = Pos {
        file,
        line: small(m.line().max(1)),
        col: small(m.col() + 1),
    };
    if let (
        ErrorKind::ExpectedFlowMappingSeparator | ErrorKind::ExpectedFlowSequenceSeparator,
        Some((open, pos)),
    ) = (e.kind(), open_flow)
    {
        let close = if open == '[' { ']' } else { '}' };
        return SyntaxError {
            pos,
            message: format!(
                "this `{open}` is not closed (at line {}, column {} the parser expected `,` or `{close}`); \
                 add the missing `{close}`",
                at.line, at.col
            ),
        };
    }
    let hint = match e.kind() {
        ErrorKind::UnclosedFlowCollection { open } => {
            let close = if *open == '[' { ']' } else { '}' };
            format!("add the missing `{close}`")
        }
        ErrorKind::UnexpectedEofFlowSequence => "add the missing `]`".into(),
        ErrorKind::UnexpectedEofFlowMapping | ErrorKind::UnexpectedEofImplicitFlowMapping => {
            "add the missing `}`".into()
        }
        ErrorKind::MismatchedFlowCollectionEnd { open, .. } => {
            let close = if *open == '[' { ']' } else { '}' };
            format!("close `{open}` with `{close}`")
        }
        ErrorKind::MisplacedFlowCollectionEnd => {
            "remove this bracket or add its opening one".into()
        }
        ErrorKind::UnclosedQuotedScalar
        | ErrorKind::InvalidTrailingSingleQuotedScalar
        | ErrorKind::InvalidTrailingDoubleQuotedScalar => "close the quote".into(),
        ErrorKind::TabNotAllowed
        | ErrorKind::TabInBlockIndentation
        | ErrorKind::TabInIndentation
        | ErrorKind::TabInPlainScalar => "indent with spaces, not tabs".into(),
        ErrorKind::UnknownAnchor => "define `&name` before using `*name`".into(),
        _ => "check the indentation (keys of one map start in the same column) \
              and that every `key:` has a space after the colon"
            .into(),
    };
    SyntaxError {
        pos: at,
        message: format!("{}; {hint}", e.kind()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_limited(
        text: &str,
        plain: usize,
        alias: usize,
    ) -> Result<Option<Node<'_>>, SyntaxError> {
        let mut p = Problems::new(std::path::Path::new("t.yaml"));
        parse_with_limits(text, 0, &mut p, Limits { plain, alias })
    }

    #[test]
    fn plain_values_have_their_own_limit() {
        // 1 map + 3 x (key + value) = 7 values.
        let text = "{a: 1, b: 2, c: 3}";
        assert!(parse_limited(text, 7, 0).is_ok());
        let e = parse_limited(text, 6, 1_000).unwrap_err();
        assert!(
            e.message
                .contains("holds more than 6 values (keys included)"),
            "{}",
            e.message
        );
        assert_eq!((e.pos.line, e.pos.col), (1, 17));
    }

    #[test]
    fn alias_expansion_has_its_own_limit() {
        // The anchor's copy (3 values) and two aliases (3 each): 9 added.
        let text = "{a: &x [1, 2], b: *x, c: *x}";
        assert!(parse_limited(text, 100, 9).is_ok());
        let e = parse_limited(text, 100, 8).unwrap_err();
        assert!(
            e.message
                .contains("anchors and aliases add more than 8 values"),
            "{}",
            e.message
        );
        assert_eq!((e.pos.line, e.pos.col), (1, 26));
        // Written values do not count against the alias limit.
        assert!(parse_limited("[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]", 100, 0).is_ok());
    }

    #[test]
    fn large_files_parse_the_same_on_two_threads() {
        let mut text = String::from("hosts:\n");
        for i in 0..40_000 {
            text.push_str(&format!(
                "  r{i}: {{hostname: 127.0.0.1, port: {}}}\n",
                1 + i % 60_000
            ));
        }
        assert!(text.len() > PIPE_FROM);
        let mut p = Problems::new(std::path::Path::new("t.yaml"));
        let Some(Node {
            kind: Kind::Map(root),
            ..
        }) = parse(&text, 0, &mut p).unwrap()
        else {
            panic!("not a map");
        };
        let Kind::Map(hosts) = &root[0].value.kind else {
            panic!("hosts is not a map");
        };
        assert_eq!(hosts.len(), 40_000);
        assert_eq!(
            (hosts[39_999].key_pos.line, hosts[39_999].key_pos.col),
            (40_001, 3)
        );
        // A syntax error far into a large file is the same error on one
        // thread and on two.
        let broken = text.replace(
            "  r30000: {hostname: 127.0.0.1,",
            "  r30000: {hostname: 127.0.0.1,,",
        );
        let piped = parse(&broken, 0, &mut p).unwrap_err();
        let direct = build(
            Events::Direct(Box::new(Parser::new_from_str(&broken))),
            0,
            &mut p,
            Limits::DEFAULT,
        )
        .unwrap_err();
        assert_eq!((piped.pos, &piped.message), (direct.pos, &direct.message));
        assert!(
            (30_001..=30_002).contains(&piped.pos.line),
            "{}",
            piped.message
        );
    }
}
