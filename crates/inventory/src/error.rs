//! The crate's errors: [`InventoryError`] for files, [`FilterError`] for `-l`.

use std::fmt;
use std::path::PathBuf;

/// At most this many problems are printed; the rest are counted.
const MAX_SHOWN: usize = 50;

/// One problem in an inventory: where (1-based line and column, pointing at
/// the offending key or value) and what is wrong and what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub col: usize,
    /// What is wrong; what to do. Never contains a secret.
    pub message: String,
}

/// Why an inventory could not be loaded. The `Display` form is one line per
/// problem, `FILE:LINE:COL: what is wrong; what to do`, and never contains a
/// secret value.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// The file could not be read.
    #[error("{}: cannot read the inventory: {source}; check the path and its permissions", path.display())]
    Read {
        /// The inventory file.
        path: PathBuf,
        /// Why reading failed.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid YAML (the first syntax error only).
    #[error("{}:{line}:{col}: invalid YAML: {message}", path.display())]
    Syntax {
        /// The inventory file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        col: usize,
        /// What the parser found, with a hint.
        message: String,
    },
    /// Valid YAML that is not a valid inventory: every problem found, in file order.
    #[error("{}", Listing { path, problems })]
    Invalid {
        /// The inventory file.
        path: PathBuf,
        /// Every problem found, sorted by position.
        problems: Vec<Problem>,
    },
}

impl InventoryError {
    /// The `(line, col)` of every problem, in the order they are printed.
    pub fn locations(&self) -> Vec<(usize, usize)> {
        match self {
            InventoryError::Read { .. } => Vec::new(),
            InventoryError::Syntax { line, col, .. } => vec![(*line, *col)],
            InventoryError::Invalid { problems, .. } => {
                problems.iter().map(|p| (p.line, p.col)).collect()
            }
        }
    }

    /// The problems, as (line, col, message); a syntax error is one problem.
    pub fn problems(&self) -> Vec<Problem> {
        match self {
            InventoryError::Read { .. } => Vec::new(),
            InventoryError::Syntax {
                line, col, message, ..
            } => vec![Problem {
                line: *line,
                col: *col,
                message: format!("invalid YAML: {message}"),
            }],
            InventoryError::Invalid { problems, .. } => problems.clone(),
        }
    }
}

/// Renders problems one per line.
struct Listing<'a> {
    path: &'a PathBuf,
    problems: &'a [Problem],
}

impl fmt::Display for Listing<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().take(MAX_SHOWN).enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(
                f,
                "{}:{}:{}: {}",
                self.path.display(),
                p.line,
                p.col,
                p.message
            )?;
        }
        if self.problems.len() > MAX_SHOWN {
            write!(
                f,
                "\n{}: {} more problems not shown; fix the ones above first",
                self.path.display(),
                self.problems.len() - MAX_SHOWN
            )?;
        }
        Ok(())
    }
}

/// A `-l FILTER` expression that cannot be parsed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// `a,,b`, a trailing comma, a lone `!`, or an empty filter.
    #[error(
        "empty term in filter `{filter}`; remove the extra comma or `!` (e.g. -l 'core*,edge*')"
    )]
    EmptyTerm {
        /// The whole filter.
        filter: String,
    },
    /// `group:` or `platform:` with nothing after the colon.
    #[error("`{field}:` needs a value in filter `{filter}`; write e.g. `{field}:{example}`")]
    MissingValue {
        /// The whole filter.
        filter: String,
        /// `group`, `platform` or `name`.
        field: String,
        /// An example value.
        example: String,
    },
    /// `=VALUE` without a variable name.
    #[error(
        "`={value}` needs a variable name before `=` in filter `{filter}`; write e.g. `site={value}`"
    )]
    MissingKey {
        /// The whole filter.
        filter: String,
        /// The value after `=`.
        value: String,
    },
    /// `platform:NAME` with an unknown platform.
    #[error("{message} (in filter `{filter}`)")]
    UnknownPlatform {
        /// The whole filter.
        filter: String,
        /// Lists the accepted names.
        message: String,
    },
    /// `xyz:VALUE` where `xyz` is not `group`, `platform` or `name`.
    #[error("unknown filter field `{field}:` in `{filter}`; {hint}")]
    UnknownField {
        /// The whole filter.
        filter: String,
        /// The text before the colon.
        field: String,
        /// A suggestion.
        hint: String,
    },
    /// A malformed glob, e.g. an unclosed `[`.
    #[error("bad pattern `{pattern}` in filter `{filter}`: {reason}")]
    BadPattern {
        /// The whole filter.
        filter: String,
        /// The offending pattern.
        pattern: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
}

/// Collects problems while an inventory is checked.
#[derive(Debug)]
pub(crate) struct Problems {
    file: String,
    list: Vec<Problem>,
}

impl Problems {
    pub(crate) fn new(path: &std::path::Path) -> Self {
        Self {
            file: path.display().to_string(),
            list: Vec::new(),
        }
    }

    /// Records a problem at `pos`.
    pub(crate) fn push(&mut self, pos: crate::yaml::Pos, message: impl Into<String>) {
        self.list.push(Problem {
            line: pos.line,
            col: pos.col,
            message: message.into(),
        });
    }

    /// `FILE:LINE:COL`, to refer to another place in a message.
    pub(crate) fn at(&self, pos: crate::yaml::Pos) -> String {
        format!("{}:{}:{}", self.file, pos.line, pos.col)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The problems in file order, exact repeats removed.
    pub(crate) fn into_sorted(mut self) -> Vec<Problem> {
        self.list.sort_by_key(|p| (p.line, p.col));
        self.list.dedup();
        self.list
    }
}
