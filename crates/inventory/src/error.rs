//! The crate's errors: [`InventoryError`] for files, [`FilterError`] for `-l`.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::yaml::Pos;

/// At most this many problems are printed; the rest are counted.
const MAX_SHOWN: usize = 50;

/// One problem in an inventory: where (the file, 1-based line and column,
/// pointing at the offending key or value) and what is wrong and what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The file it is in (one of a Nornir directory's files, or the inventory).
    pub path: PathBuf,
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
    /// The run's `--ssh-config` file cannot be read or is malformed.
    #[error("--ssh-config: {message}")]
    SshConfig {
        /// What is wrong (with its file:line) and what to do.
        message: String,
    },
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
    /// The format is not what was asked for, or cannot be read from here.
    #[error("{}: {message}", path.display())]
    Format {
        /// The inventory.
        path: PathBuf,
        /// What is wrong and what to do.
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
            InventoryError::Read { .. }
            | InventoryError::Format { .. }
            | InventoryError::SshConfig { .. } => Vec::new(),
            InventoryError::Syntax { line, col, .. } => vec![(*line, *col)],
            InventoryError::Invalid { problems, .. } => {
                problems.iter().map(|p| (p.line, p.col)).collect()
            }
        }
    }

    /// The problems, as (line, col, message); a syntax error is one problem.
    pub fn problems(&self) -> Vec<Problem> {
        match self {
            InventoryError::Read { .. }
            | InventoryError::Format { .. }
            | InventoryError::SshConfig { .. } => Vec::new(),
            InventoryError::Syntax {
                path,
                line,
                col,
                message,
            } => vec![Problem {
                path: path.clone(),
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

/// Something in an inventory that loads but may not do what its author
/// meant (an ignored option, a key file that does not exist). `Display` is
/// `FILE:LINE:COL: warning: what; what to do`, plus how many other places
/// have the same warning. Never contains a secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// The file it is in.
    pub path: PathBuf,
    /// 1-based line of the first place.
    pub line: usize,
    /// 1-based column of the first place.
    pub col: usize,
    /// What is wrong; what to do.
    pub message: String,
    /// How many more places have exactly this warning (not printed one by one).
    pub more: usize,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: warning: {}",
            self.path.display(),
            self.line,
            self.col,
            self.message
        )?;
        match self.more {
            0 => Ok(()),
            1 => f.write_str(" (and 1 more place)"),
            n => write!(f, " (and {n} more places)"),
        }
    }
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
                p.path.display(),
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

/// Why `inventory convert` failed.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    /// The source inventory is not valid (or cannot be read).
    #[error(transparent)]
    Inventory(#[from] InventoryError),
    /// The output could not be written.
    #[error("{}: cannot write the converted inventory: {source}; check the path and its permissions", path.display())]
    Write {
        /// The output file or directory.
        path: PathBuf,
        /// Why writing failed.
        #[source]
        source: std::io::Error,
    },
    /// The target format cannot be written.
    #[error("{0}")]
    Unsupported(String),
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

/// Collects problems and warnings while an inventory is checked. Positions
/// name their file by index into `files`.
#[derive(Debug)]
pub(crate) struct Problems {
    files: Vec<PathBuf>,
    list: Vec<(Pos, String)>,
    warnings: Vec<(Pos, String, usize)>,
    /// Warning message -> its index in `warnings`, to count repeats.
    seen_warnings: HashMap<String, usize>,
}

impl Problems {
    /// Problems of the inventory at `path` (file 0).
    pub(crate) fn new(path: &Path) -> Self {
        Self {
            files: vec![path.to_path_buf()],
            list: Vec::new(),
            warnings: Vec::new(),
            seen_warnings: HashMap::new(),
        }
    }

    /// Makes `path` file 0 (a Nornir directory's hosts.yaml stands for
    /// the directory in positions).
    pub(crate) fn set_main(&mut self, path: &Path) -> u32 {
        self.files[0] = path.to_path_buf();
        0
    }

    /// Registers another file (of a Nornir directory, `--inventory-defaults`)
    /// and returns its index for [`Pos::file`].
    pub(crate) fn add_file(&mut self, path: &Path) -> u32 {
        self.files.push(path.to_path_buf());
        u32::try_from(self.files.len() - 1).unwrap_or(u32::MAX)
    }

    /// The path of file `index`.
    pub(crate) fn file(&self, index: u32) -> &Path {
        self.files
            .get(index as usize)
            .unwrap_or(&self.files[0])
            .as_path()
    }

    /// Records a problem at `pos`.
    pub(crate) fn push(&mut self, pos: Pos, message: impl Into<String>) {
        self.list.push((pos, message.into()));
    }

    /// Records a warning at `pos`; the same message elsewhere is counted,
    /// not repeated.
    pub(crate) fn warn(&mut self, pos: Pos, message: impl Into<String>) {
        let message = message.into();
        if let Some(&i) = self.seen_warnings.get(&message) {
            self.warnings[i].2 += 1;
            return;
        }
        self.seen_warnings
            .insert(message.clone(), self.warnings.len());
        self.warnings.push((pos, message, 0));
    }

    /// `FILE:LINE:COL`, to refer to another place in a message.
    pub(crate) fn at(&self, pos: Pos) -> String {
        format!("{}:{}:{}", self.file(pos.file).display(), pos.line, pos.col)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The problems in file order, exact repeats removed.
    pub(crate) fn into_sorted(mut self) -> Vec<Problem> {
        self.list.sort_by_key(|a| a.0);
        self.list.dedup();
        let list = std::mem::take(&mut self.list);
        list.into_iter()
            .map(|(pos, message)| Problem {
                path: self.file(pos.file).to_path_buf(),
                line: pos.line as usize,
                col: pos.col as usize,
                message,
            })
            .collect()
    }

    /// The warnings in file order.
    pub(crate) fn take_warnings(&mut self) -> Vec<Warning> {
        let mut list = std::mem::take(&mut self.warnings);
        self.seen_warnings.clear();
        list.sort_by_key(|a| a.0);
        list.into_iter()
            .map(|(pos, message, more)| Warning {
                path: self.file(pos.file).to_path_buf(),
                line: pos.line as usize,
                col: pos.col as usize,
                message,
                more,
            })
            .collect()
    }
}
