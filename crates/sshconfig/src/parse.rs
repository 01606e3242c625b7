//! Reading ssh_config text into blocks and entries, Includes expanded.

use std::path::{Path, PathBuf};

use crate::{Condition, Entry, Pattern, Pos, SshConfig, glob};

/// How deep Includes may nest (OpenSSH: 16).
const MAX_INCLUDE_DEPTH: usize = 16;

/// An ssh_config that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read.
    #[error("cannot read ssh_config {}: {source}; check the path (--ssh-config or ssh_config_file:)", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line is malformed.
    #[error("{pos}: {message}")]
    Invalid {
        /// Where.
        pos: Pos,
        /// What is wrong and what to do.
        message: String,
    },
}

struct Reader<'a> {
    home: &'a Path,
    config: SshConfig,
}

pub(crate) fn load(path: &Path, home: &Path) -> Result<SshConfig, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_text(&text, path, home)
}

pub(crate) fn parse_text(text: &str, path: &Path, home: &Path) -> Result<SshConfig, Error> {
    let mut r = Reader {
        home,
        config: SshConfig {
            conditions: vec![Condition::Always],
            entries: Vec::new(),
            warnings: Vec::new(),
            path: path.to_path_buf(),
        },
    };
    r.text(text, path, 0, 0)?;
    Ok(r.config)
}

impl Reader<'_> {
    /// Reads `text` of `path`; its lines start under condition `current`.
    /// Returns the condition in force at its end.
    fn text(
        &mut self,
        text: &str,
        path: &Path,
        mut current: usize,
        depth: usize,
    ) -> Result<usize, Error> {
        for (i, raw) in text.lines().enumerate() {
            let pos = Pos {
                file: path.to_path_buf(),
                line: i + 1,
            };
            let Some((keyword, args)) = split_line(raw, &pos)? else {
                continue;
            };
            let lower = keyword.to_ascii_lowercase();
            let invalid = |message: String| Error::Invalid {
                pos: pos.clone(),
                message,
            };
            if args.is_empty() {
                return Err(invalid(format!(
                    "`{keyword}` needs a value, e.g. `{keyword} VALUE`"
                )));
            }
            match lower.as_str() {
                "host" => {
                    let patterns: Vec<Pattern> = args
                        .iter()
                        .map(|a| match a.strip_prefix('!') {
                            Some(g) => Pattern {
                                negated: true,
                                glob: g.to_string(),
                            },
                            None => Pattern {
                                negated: false,
                                glob: a.clone(),
                            },
                        })
                        .collect();
                    self.config.conditions.push(Condition::Host(patterns));
                    current = self.config.conditions.len() - 1;
                }
                "match" => {
                    let all = args.len() == 1 && args[0].eq_ignore_ascii_case("all");
                    if !all {
                        self.config.warnings.push(format!(
                            "{pos}: warning: `Match {}` is not evaluated by fanout: its settings \
                             apply to no host; use a `Host` block instead",
                            args.join(" ")
                        ));
                    }
                    self.config.conditions.push(if all {
                        Condition::Always
                    } else {
                        Condition::Never
                    });
                    current = self.config.conditions.len() - 1;
                }
                "include" => {
                    if depth >= MAX_INCLUDE_DEPTH {
                        return Err(invalid(format!(
                            "Include nested more than {MAX_INCLUDE_DEPTH} deep; is a file including itself?"
                        )));
                    }
                    let dir = path.parent().unwrap_or(Path::new("."));
                    for arg in &args {
                        for file in self.include_paths(arg, dir) {
                            let text = std::fs::read_to_string(&file)
                                .map_err(|e| invalid(format!("Include {}: {e}", file.display())))?;
                            // Lines of an included file stay under the
                            // including block until their own Host line.
                            self.text(&text, &file, current, depth + 1)?;
                        }
                    }
                }
                _ => {
                    check_value(&lower, &keyword, &args, &invalid)?;
                    self.config.entries.push(Entry {
                        keyword: lower,
                        args,
                        pos,
                        condition: current,
                    });
                }
            }
        }
        Ok(current)
    }

    /// The files an `Include` argument names: `~` expanded, relative to
    /// `dir`, a glob in the last component expanded (sorted); files that do
    /// not exist are skipped, as OpenSSH does.
    fn include_paths(&self, arg: &str, dir: &Path) -> Vec<PathBuf> {
        let path = match arg.strip_prefix("~/") {
            Some(rest) => self.home.join(rest),
            None => dir.join(arg),
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !name.contains(['*', '?']) {
            return if path.is_file() {
                vec![path]
            } else {
                Vec::new()
            };
        }
        let parent = path.parent().unwrap_or(Path::new("."));
        let mut found: Vec<PathBuf> = std::fs::read_dir(parent)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.is_file())
                    .filter(|p| {
                        p.file_name()
                            .is_some_and(|n| glob(&name, &n.to_string_lossy()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        found.sort();
        found
    }
}

/// The values fanout uses are checked when read, so a typo is reported at
/// its line rather than when a host needs it.
fn check_value(
    lower: &str,
    keyword: &str,
    args: &[String],
    invalid: &dyn Fn(String) -> Error,
) -> Result<(), Error> {
    match lower {
        "port" if !args[0].parse::<u16>().is_ok_and(|p| p > 0) => {
            return Err(invalid(format!(
                "`{keyword} {}` is not a port; write a number from 1 to 65535",
                args[0]
            )));
        }
        "connecttimeout" if !args[0].parse::<u64>().is_ok_and(|s| s > 0) => {
            return Err(invalid(format!(
                "`{keyword} {}` is not a number of seconds; write a whole number above 0",
                args[0]
            )));
        }
        "stricthostkeychecking"
            if !["yes", "no", "off", "ask", "accept-new"]
                .contains(&args[0].to_ascii_lowercase().as_str()) =>
        {
            return Err(invalid(format!(
                "`{keyword} {}`: use yes, accept-new, no (or off) or ask",
                args[0]
            )));
        }
        "hostname" | "user" | "proxyjump" if args.len() > 1 => {
            return Err(invalid(format!(
                "`{keyword}` takes one value, got {}; quote a value with spaces",
                args.len()
            )));
        }
        _ => {}
    }
    Ok(())
}

/// `keyword args` / `keyword=args` with `#` comments and double quotes;
/// `None` for a blank or comment line.
fn split_line(raw: &str, pos: &Pos) -> Result<Option<(String, Vec<String>)>, Error> {
    let line = raw.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let split = line
        .find(|c: char| c.is_whitespace() || c == '=')
        .unwrap_or(line.len());
    let keyword = line[..split].to_string();
    let mut rest = line[split..].trim_start();
    if let Some(r) = rest.strip_prefix('=') {
        rest = r.trim_start();
    }
    let mut args = Vec::new();
    let mut chars = rest.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        if c == '#' {
            break;
        }
        let mut arg = String::new();
        if c == '"' {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some(ch) => arg.push(ch),
                    None => {
                        return Err(Error::Invalid {
                            pos: pos.clone(),
                            message: format!(
                                "`{keyword}`: a double quote is never closed; close it or remove it"
                            ),
                        });
                    }
                }
            }
        } else {
            while let Some(&ch) = chars.peek() {
                if ch.is_whitespace() {
                    break;
                }
                arg.push(ch);
                chars.next();
            }
        }
        args.push(arg);
    }
    Ok(Some((keyword, args)))
}
