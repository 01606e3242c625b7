//! fanout-parse: command outputs to records, with TextFSM templates.
//!
//! This crate owns `fanout run --parse`: choosing a template for a device's
//! command the way ntc-templates does (its `index` file, CliTable semantics:
//! the first row whose `Platform` and `Command` patterns match, commands
//! abbreviated with `sh[[ow]]` completion), running it with
//! [textfsm-core](https://docs.rs/textfsm-core) (a maintained TextFSM
//! implementation; fanout writes no TextFSM engine of its own), and handing
//! back ordered [`Record`]s with the template's field names (`VERSION`,
//! `HOSTNAME`, `INTERFACE`, `IP_ADDRESS`, ...).
//!
//! Three sources of templates ([`Parser`]):
//! - [`Parser::builtin`]: ntc-templates' whole index and the templates for
//!   the simulator's platforms, embedded in the binary (`templates/`,
//!   Apache-2.0, licence beside them);
//! - [`Parser::from_dir`]: a folder with an `index` and templates, such as an
//!   ntc-templates checkout's `ntc_templates/templates`;
//! - [`Parser::from_template_file`]: one template for every output.
//!
//! It must never touch the network, a device or an executor: it is a pure
//! function of (platform, command, output). Every failure — no template, a
//! broken template, a template's `Error` rule, an output that yields no
//! record — is a [`ParseError`] for that one output, never a panic.

mod builtin;
mod error;
mod record;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use fanout_core::Platform;
use textfsm_core::{CliTable, Index, Template};

pub use builtin::shipped_templates;
pub use error::ParseError;
pub use record::{Field, Item, Record};

/// Parses outputs with templates from one source (see the crate doc).
pub struct Parser {
    source: Source,
}

enum Source {
    Builtin,
    Dir { dir: PathBuf, table: CliTable },
    Single { path: PathBuf, template: Template },
}

impl std::fmt::Debug for Parser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.source {
            Source::Builtin => f.write_str("Parser(builtin ntc-templates)"),
            Source::Dir { dir, .. } => write!(f, "Parser(index in {})", dir.display()),
            Source::Single { path, .. } => write!(f, "Parser(template {})", path.display()),
        }
    }
}

/// Records parsed from one output, and the template that produced them.
#[derive(Clone, Debug, PartialEq)]
pub struct Parsed {
    /// The template's file name (`cisco_ios_show_version.textfsm`), or
    /// several joined by `:` when the index merges templates.
    pub template: String,
    /// One record per TextFSM `Record`, fields in template order.
    pub records: Vec<Record>,
}

impl Parser {
    /// The embedded ntc-templates index and templates.
    pub fn builtin() -> Self {
        Self {
            source: Source::Builtin,
        }
    }

    /// Templates chosen by `DIR/index` among the files of `DIR` (an
    /// ntc-templates `templates` folder, or one of your own in its format).
    /// The index is read and checked now; each template when first used.
    pub fn from_dir(dir: &Path) -> Result<Self, ParseError> {
        let index_path = dir.join("index");
        let text = std::fs::read_to_string(&index_path).map_err(|source| ParseError::Io {
            path: index_path.clone(),
            source,
        })?;
        let index = Index::parse_str(&text).map_err(|e| ParseError::Index {
            path: index_path.display().to_string(),
            message: e.to_string(),
        })?;
        Ok(Self {
            source: Source::Dir {
                dir: dir.to_path_buf(),
                table: CliTable::from_index(std::sync::Arc::new(index), dir.to_path_buf()),
            },
        })
    }

    /// One template for every output, whatever the platform or command.
    pub fn from_template_file(path: &Path) -> Result<Self, ParseError> {
        let text = std::fs::read_to_string(path).map_err(|source| ParseError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let template = Template::parse_str(&text).map_err(|e| ParseError::Template {
            template: path.display().to_string(),
            message: e.to_string(),
        })?;
        Ok(Self {
            source: Source::Single {
                path: path.to_path_buf(),
                template,
            },
        })
    }

    /// Parses `output` of `command` on a device of ntc-templates platform
    /// `platform` (`cisco_ios`, see [`ntc_platform`]).
    pub fn parse(&self, platform: &str, command: &str, output: &str) -> Result<Parsed, ParseError> {
        let parsed = match &self.source {
            Source::Builtin => builtin::parse(platform, command, output)?,
            Source::Dir { dir, table } => parse_dir(dir, table, platform, command, output)?,
            Source::Single { path, template } => {
                let name = path.display().to_string();
                let records = run_template(template, &name, output)?;
                Parsed {
                    template: name,
                    records,
                }
            }
        };
        if parsed.records.is_empty() {
            return Err(ParseError::NoRecords {
                template: parsed.template,
                command: command.to_string(),
            });
        }
        Ok(parsed)
    }
}

/// ntc-templates' platform name for a fanout platform (unset: IOS, as the
/// `cli` task assumes). IOS-XE outputs are parsed by ntc-templates'
/// `cisco_ios` templates, as netmiko does.
pub fn ntc_platform(platform: Option<Platform>) -> &'static str {
    match platform.unwrap_or(Platform::Ios) {
        Platform::Ios | Platform::Iosxe => "cisco_ios",
        Platform::Nxos => "cisco_nxos",
        Platform::Eos => "arista_eos",
        Platform::Junos => "juniper_junos",
        Platform::Iosxr => "cisco_xr",
        Platform::Linux => "linux",
    }
}

/// The index attributes ntc-templates' `parse_output` matches on.
fn attributes(platform: &str, command: &str) -> HashMap<String, String> {
    HashMap::from([
        ("Platform".to_string(), platform.to_string()),
        ("Command".to_string(), command.trim().to_string()),
    ])
}

/// Runs one compiled template over `output`.
fn run_template(template: &Template, name: &str, output: &str) -> Result<Vec<Record>, ParseError> {
    let rows = template
        .parser()
        .parse_text(output)
        .map_err(|e| ParseError::Rule {
            template: name.to_string(),
            message: e.to_string(),
        })?;
    let header: Vec<String> = template.header().iter().map(|h| h.to_string()).collect();
    Ok(rows
        .into_iter()
        .map(|row| Record::from_row(&header, row))
        .collect())
}

fn parse_dir(
    dir: &Path,
    table: &CliTable,
    platform: &str,
    command: &str,
    output: &str,
) -> Result<Parsed, ParseError> {
    let attrs = attributes(platform, command);
    let Some(entry) = table.index().find_match(&attrs) else {
        return Err(ParseError::NoTemplate {
            index: dir.join("index").display().to_string(),
            platform: platform.to_string(),
            command: command.to_string(),
        });
    };
    let name = entry.templates().join(":");
    let result = table
        .parse_with_templates(output, entry.templates())
        .map_err(|e| {
            use textfsm_core::CliTableError as E;
            match e {
                E::Parse(p) => ParseError::Rule {
                    template: name.clone(),
                    message: p.to_string(),
                },
                E::TemplateNotFound(path) => ParseError::Io {
                    path,
                    source: std::io::Error::from(std::io::ErrorKind::NotFound),
                },
                other => ParseError::Template {
                    template: dir.join(&name).display().to_string(),
                    message: other.to_string(),
                },
            }
        })?;
    let header = result.header().to_vec();
    let records = result
        .into_values()
        .into_iter()
        .map(|row| Record::from_row(&header, row))
        .collect();
    Ok(Parsed {
        template: name,
        records,
    })
}
