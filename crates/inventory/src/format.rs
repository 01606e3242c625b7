//! Which format an inventory is in, and reading any of them into a model.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::error::{InventoryError, Problems};
use crate::fields::{Level, Scope, parse_level};
use crate::model::Model;
use crate::{ansible, ansible_ini, netbox, nornir, resolve, yaml};

/// An inventory format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// fanout's YAML: a device list (netmiko/scrapli dicts) or
    /// `defaults`/`groups`/`hosts` sections.
    Fanout,
    /// A Nornir SimpleInventory directory (`hosts.yaml`, `groups.yaml`,
    /// `defaults.yaml`).
    Nornir,
    /// An Ansible inventory, YAML or INI.
    Ansible,
    /// A NetBox device export (JSON of `/api/dcim/devices/`).
    Netbox,
}

impl Format {
    /// Every format, for messages.
    pub const ALL: [Format; 4] = [
        Format::Fanout,
        Format::Nornir,
        Format::Ansible,
        Format::Netbox,
    ];

    /// `fanout`, `nornir`, `ansible` or `netbox`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Fanout => "fanout",
            Format::Nornir => "nornir",
            Format::Ansible => "ansible",
            Format::Netbox => "netbox",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!("unknown inventory format `{s}`; use fanout, nornir, ansible or netbox")
            })
    }
}

/// How to load an inventory.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// The format; `None` detects it (a directory with `hosts.yaml` is
    /// Nornir, `.ini` or `[group]` lines Ansible INI, YAML with `all:` or
    /// groups of `hosts`/`children` Ansible YAML, JSON with `results` or
    /// `primary_ip` NetBox, any other YAML fanout's).
    pub format: Option<Format>,
    /// A YAML map of settings every host takes last (the keys of fanout's
    /// `defaults:`), e.g. credentials for a NetBox export. Without it, a
    /// NetBox export takes `defaults.yaml` from its directory if there is one.
    pub defaults: Option<PathBuf>,
    /// An OpenSSH client config for every host without its own
    /// `ssh_config_file:` (`--ssh-config FILE`); `None` reads none.
    pub ssh_config: Option<PathBuf>,
}

/// What was read: the format, the model (`None` when nothing could be
/// read), the extra defaults level and the directory paths start at.
pub(crate) struct Read {
    pub(crate) format: Format,
    pub(crate) model: Option<Model>,
    pub(crate) extra: Level,
    pub(crate) dir: PathBuf,
}

fn read_text(path: &Path) -> Result<String, InventoryError> {
    std::fs::read_to_string(path).map_err(|source| InventoryError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn syntax(p: &Problems, e: yaml::SyntaxError) -> InventoryError {
    InventoryError::Syntax {
        path: p.file(e.pos.file).to_path_buf(),
        line: e.pos.line as usize,
        col: e.pos.col as usize,
        message: e.message,
    }
}

/// The format of the file or directory at `path` with contents `text`.
fn detect(path: &Path, text: Option<&str>) -> Format {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    match (text, ext) {
        (None, _) => Format::Nornir,
        (Some(_), "ini" | "cfg") => Format::Ansible,
        (Some(t), _) if netbox::looks_like(t) => Format::Netbox,
        (Some(t), _) if ansible_ini::looks_like(t) => Format::Ansible,
        _ if nornir::looks_like(path) => Format::Nornir,
        // Fanout or Ansible YAML: told apart by the parsed tree.
        _ => Format::Fanout,
    }
}

/// Reads the inventory at `path` (or `text` as if read from it) into a model.
pub(crate) fn read(
    path: &Path,
    text: Option<&str>,
    opts: &LoadOptions,
    p: &mut Problems,
) -> Result<Read, InventoryError> {
    let is_dir = text.is_none() && path.is_dir();
    let owned;
    let text = match text {
        Some(t) => Some(t),
        None if is_dir => None,
        None => {
            owned = read_text(path)?;
            Some(owned.as_str())
        }
    };
    let mut format = opts.format.unwrap_or_else(|| detect(path, text));
    let dir = if is_dir {
        path.to_path_buf()
    } else {
        path.parent().unwrap_or(Path::new("")).to_path_buf()
    };
    let model = match (format, text) {
        (Format::Nornir, _) => {
            let files = nornir::files(path).ok_or_else(|| InventoryError::Format {
                path: path.to_path_buf(),
                message: "a Nornir inventory is a directory holding hosts.yaml (and groups.yaml, defaults.yaml); \
                          this one has no hosts.yaml"
                    .into(),
            })?;
            // groups.yaml and defaults.yaml are read from disk; a hosts
            // file given as text is used as it is.
            Some(nornir::model(&files, text, p)?)
        }
        (_, None) => {
            return Err(InventoryError::Format {
                path: path.to_path_buf(),
                message: format!(
                    "this is a directory, which only the nornir format reads; pass a file, or --inventory-format nornir \
                     (not {format})"
                ),
            });
        }
        (Format::Netbox, Some(t)) => netbox::model(t, 0, p),
        (Format::Ansible, Some(t)) if is_ini(path, t) => {
            let root = ansible_ini::parse(t, 0, p);
            let model = ansible::model(&root, p);
            drop_aside(root, t.len() >= 1 << 20);
            Some(model)
        }
        (Format::Ansible | Format::Fanout, Some(t)) => {
            let root = yaml::parse(t, 0, p).map_err(|e| syntax(p, e))?;
            let model = match &root {
                Some(root)
                    if format == Format::Ansible
                        || (opts.format.is_none() && ansible::looks_like(root)) =>
                {
                    format = Format::Ansible;
                    Some(ansible::model(root, p))
                }
                root => resolve::model(root.as_ref(), p),
            };
            // Borrowed from the text: freed here, with few allocations.
            drop(root);
            model
        }
    };
    let extra = extra_defaults(format, &dir, opts, p)?;
    Ok(Read {
        format,
        model,
        extra,
        dir,
    })
}

/// Drops what was read from a large file (a parsed document, a model) on
/// another thread: freeing millions of nodes takes a tenth of a second
/// that loading need not wait for.
pub(crate) fn drop_aside<T: Send + 'static>(value: T, large: bool) {
    if large {
        std::thread::spawn(move || drop(value));
    }
}

/// Ansible INI rather than YAML: by the extension, else by the first line.
fn is_ini(path: &Path, text: &str) -> bool {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    matches!(ext, "ini" | "cfg") || ansible_ini::looks_like(text)
}

/// `--inventory-defaults FILE`, or a NetBox export's sibling `defaults.yaml`.
fn extra_defaults(
    format: Format,
    dir: &Path,
    opts: &LoadOptions,
    p: &mut Problems,
) -> Result<Level, InventoryError> {
    let file = match &opts.defaults {
        Some(file) => file.clone(),
        None if format == Format::Netbox && dir.join("defaults.yaml").is_file() => {
            dir.join("defaults.yaml")
        }
        None => return Ok(Level::default()),
    };
    let text = read_text(&file)?;
    let id = p.add_file(&file);
    let root = yaml::parse(&text, id, p).map_err(|e| syntax(p, e))?;
    Ok(root.map_or_else(Level::default, |root| {
        parse_level(&root, Scope::Defaults, "the inventory defaults", p)
    }))
}
