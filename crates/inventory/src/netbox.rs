//! A NetBox device list as exported from its API: a `/api/dcim/devices/`
//! page (`{"count", "next", "previous", "results": [...]}`) or a bare list
//! of devices.
//!
//! Each device gives its `name`, its address (`primary_ip.address`, else
//! `primary_ip4` / `primary_ip6`, without the `/prefix`), its platform
//! (`platform.slug`: `cisco-ios`, `cisco-nx-os`, `arista-eos`, ...), the
//! vars `site`, `role`, `status` and `tenant` (slugs), and the groups
//! `site_SITE`, its role and its tags. NetBox holds no credentials: they
//! come from `--inventory-defaults FILE` or a `defaults.yaml` beside the
//! export. Positions come from serde_json: every value is kept as its raw
//! text (`RawValue`), whose place in the file gives its line and column.

use std::borrow::Cow;
use std::collections::HashMap;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::error::Problems;
use crate::fields::{At, Level};
use crate::model::{GroupOrder, Model, Named};
use crate::values::parse_platform;
use crate::yaml::{Pos, small};

/// Byte offsets -> line and column.
pub(crate) struct Lines<'t> {
    text: &'t str,
    starts: Vec<usize>,
    file: u32,
    /// The last position asked for (line, byte offset, characters before
    /// it on its line): the next one on the same line is counted from
    /// there (a NetBox device is one long line read left to right).
    last: std::cell::Cell<(usize, usize, usize)>,
}

impl<'t> Lines<'t> {
    pub(crate) fn new(text: &'t str, file: u32) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self {
            text,
            starts,
            file,
            last: std::cell::Cell::new((0, 0, 0)),
        }
    }

    /// The position of byte `offset`.
    pub(crate) fn pos(&self, offset: usize) -> Pos {
        let offset = offset.min(self.text.len());
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let (last_line, last_offset, last_chars) = self.last.get();
        let start = self.starts[line - 1];
        let chars = match self.text.get(start..offset) {
            None => offset - start,
            Some(_) if last_line == line && last_offset <= offset => {
                last_chars + self.text[last_offset..offset].chars().count()
            }
            Some(s) => s.chars().count(),
        };
        if self.text.is_char_boundary(offset) {
            self.last.set((line, offset, chars));
        }
        let col = chars + 1;
        Pos {
            file: self.file,
            line: small(line),
            col: small(col),
        }
    }

    /// Where `raw` (a slice of the text) starts.
    fn at(&self, raw: &RawValue) -> Pos {
        self.pos(self.offset(raw.get()))
    }

    fn offset(&self, slice: &str) -> usize {
        (slice.as_ptr() as usize).saturating_sub(self.text.as_ptr() as usize)
    }

    /// A serde_json error inside `slice` -> its position in the file.
    fn error_pos(&self, slice: &str, e: &serde_json::Error) -> Pos {
        let inner = Lines::new(slice, self.file);
        let line = e.line().max(1);
        let start = inner.starts.get(line - 1).copied().unwrap_or(slice.len());
        let rest = slice.get(start..).unwrap_or("");
        let within: usize = rest
            .char_indices()
            .nth(e.column().saturating_sub(1))
            .map_or(rest.len(), |(i, _)| i);
        self.pos(self.offset(slice) + start + within)
    }
}

#[derive(Deserialize)]
struct Page<'a> {
    #[serde(borrow)]
    results: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct Device<'a> {
    #[serde(borrow, default)]
    name: Option<&'a RawValue>,
    #[serde(borrow, default)]
    primary_ip: Option<&'a RawValue>,
    #[serde(borrow, default)]
    primary_ip4: Option<&'a RawValue>,
    #[serde(borrow, default)]
    primary_ip6: Option<&'a RawValue>,
    #[serde(borrow, default)]
    platform: Option<&'a RawValue>,
    #[serde(borrow, default)]
    site: Option<&'a RawValue>,
    #[serde(borrow, default)]
    role: Option<&'a RawValue>,
    #[serde(borrow, default)]
    device_role: Option<&'a RawValue>,
    #[serde(borrow, default)]
    tenant: Option<&'a RawValue>,
    #[serde(borrow, default)]
    status: Option<&'a RawValue>,
    #[serde(borrow, default)]
    tags: Option<&'a RawValue>,
}

/// A nested object (`{"slug": ...}`, `{"address": ...}`, `{"value": ...}`)
/// or, in hand-made exports, the text itself.
#[derive(Deserialize)]
#[serde(untagged)]
enum Nested<'a> {
    Text(#[serde(borrow)] Cow<'a, str>),
    Object {
        #[serde(borrow, default)]
        slug: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        address: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        value: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        name: Option<Cow<'a, str>>,
    },
}

/// A `Nested::Object` read straight from its JSON object.
#[derive(Deserialize)]
struct Object<'a> {
    #[serde(borrow, default)]
    slug: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    address: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    value: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
}

/// A `Nested::Text` read straight from its JSON string.
#[derive(Deserialize)]
struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

/// `raw` as an optional [`Nested`]. A string or an object is read as that
/// variant at once (what `untagged` would end with, without buffering the
/// value and building the error of the variant that does not match: a
/// fifth of a NetBox load); anything else takes the `untagged` way.
fn nested(raw: &RawValue) -> Result<Option<Nested<'_>>, serde_json::Error> {
    let text = raw.get();
    match text.as_bytes().first() {
        Some(b'"') => serde_json::from_str::<Text>(text).map(|t| Some(Nested::Text(t.0))),
        Some(b'{') => serde_json::from_str::<Object>(text).map(|o| {
            Some(Nested::Object {
                slug: o.slug,
                address: o.address,
                value: o.value,
                name: o.name,
            })
        }),
        _ => serde_json::from_str::<Option<Nested>>(text),
    }
}

/// `raw` as an optional list of [`Nested`] (the tags), each read by [`nested`].
fn nested_list(raw: &RawValue) -> Result<Option<Vec<Nested<'_>>>, serde_json::Error> {
    let text = raw.get();
    if !text.starts_with('[') {
        return serde_json::from_str::<Option<Vec<Nested>>>(text);
    }
    let items = serde_json::from_str::<Vec<&RawValue>>(text)?;
    let mut list = Vec::with_capacity(items.len());
    for item in items {
        match nested(item)? {
            Some(n) => list.push(n),
            // `null` in the list: not a tag, as the derived reading says.
            None => return serde_json::from_str::<Option<Vec<Nested>>>(text),
        }
    }
    Ok(Some(list))
}

impl Nested<'_> {
    /// The slug (or name) of a reference, the address of an IP, the value
    /// of a choice.
    fn text(&self) -> Option<&str> {
        match self {
            Nested::Text(t) => Some(t),
            Nested::Object {
                slug,
                address,
                value,
                name,
            } => slug
                .as_deref()
                .or(address.as_deref())
                .or(value.as_deref())
                .or(name.as_deref()),
        }
    }
}

/// Whether `text` is a NetBox export: JSON with `results`, or a list of
/// objects with a `primary_ip`.
pub(crate) fn looks_like(text: &str) -> bool {
    match text.trim_start().chars().next() {
        Some('{') => text.contains("\"results\""),
        Some('[') => text.contains("\"primary_ip"),
        _ => false,
    }
}

/// The model of a NetBox export in file `file`; `None` after a syntax error.
pub(crate) fn model(text: &str, file: u32, p: &mut Problems) -> Option<Model> {
    let lines = Lines::new(text, file);
    let parsed = if text.trim_start().starts_with('{') {
        serde_json::from_str::<Page>(text).map(|page| page.results)
    } else {
        serde_json::from_str::<Vec<&RawValue>>(text)
    };
    let devices = match parsed {
        Ok(devices) => devices,
        Err(e) => {
            p.push(
                lines.error_pos(text, &e),
                format!(
                    "not a NetBox device export: {e}; expected the JSON of /api/dcim/devices/ \
                     (`{{\"results\": [...]}}`) or a list of devices"
                ),
            );
            return None;
        }
    };
    let mut model = Model::new(GroupOrder::Tags);
    let mut names: HashMap<String, Pos> = HashMap::new();
    for raw in devices {
        let device: Device = match serde_json::from_str(raw.get()) {
            Ok(d) => d,
            Err(e) => {
                p.push(
                    lines.error_pos(raw.get(), &e),
                    format!("this device is not a NetBox device object: {e}"),
                );
                continue;
            }
        };
        let pos = lines.at(raw);
        let read = |field: Option<&RawValue>, p: &mut Problems| -> Option<(String, Pos)> {
            let field = field?;
            match nested(field) {
                Ok(n) => n.and_then(|n| n.text().map(|t| (t.to_string(), lines.at(field)))),
                Err(_) => {
                    p.push(
                        lines.at(field),
                        "expected text or an object with a `slug`, `address` or `value`",
                    );
                    None
                }
            }
        };
        let Some((name, name_pos)) = read(device.name, p) else {
            p.warn(
                pos,
                "a device without a name is left out; name it in NetBox (fanout needs a unique name per host)",
            );
            continue;
        };
        let address = read(device.primary_ip, p)
            .or_else(|| read(device.primary_ip4, p))
            .or_else(|| read(device.primary_ip6, p));
        let Some((address, address_pos)) = address else {
            p.warn(
                name_pos,
                "a device without primary_ip (or primary_ip4/6) is left out; give it a primary IP in NetBox",
            );
            continue;
        };
        if let Some(first) = names.get(&name) {
            let first = p.at(*first);
            p.push(
                name_pos,
                format!(
                    "duplicate device name `{name}` (first at {first}); device names must be unique"
                ),
            );
            continue;
        }
        names.insert(name.clone(), name_pos);
        let mut level = Level {
            hostname: Some(At {
                value: address.split('/').next().unwrap_or(&address).to_string(),
                pos: address_pos,
            }),
            ..Level::default()
        };
        if let Some((slug, at)) = read(device.platform, p) {
            match platform(&slug) {
                Some(platform) => level.platform = Some(At { value: platform, pos: at }),
                None => p.warn(
                    at,
                    format!(
                        "platform `{slug}` is not one fanout knows (cisco-ios, cisco-ios-xe, cisco-nx-os, arista-eos, \
                         juniper-junos, cisco-ios-xr, linux); these devices have no platform"
                    ),
                ),
            }
        }
        let var = |key: &str, value: Option<(String, Pos)>, level: &mut Level| {
            if let Some((value, pos)) = value {
                level.vars.push((key.to_string(), At { value, pos }));
            }
        };
        let site = read(device.site, p);
        let role = read(device.role, p).or_else(|| read(device.device_role, p));
        if let Some((slug, at)) = &site {
            level.groups.push(At {
                value: format!("site_{slug}"),
                pos: *at,
            });
        }
        if let Some((slug, at)) = &role {
            level.groups.push(At {
                value: slug.clone(),
                pos: *at,
            });
        }
        var("site", site, &mut level);
        var("role", role, &mut level);
        var("status", read(device.status, p), &mut level);
        var("tenant", read(device.tenant, p), &mut level);
        if let Some(tags) = device.tags {
            match nested_list(tags) {
                Ok(list) => {
                    for tag in list.unwrap_or_default() {
                        if let Some(slug) = tag.text() {
                            level.groups.push(At {
                                value: slug.to_string(),
                                pos: lines.at(tags),
                            });
                        }
                    }
                }
                Err(_) => p.push(
                    lines.at(tags),
                    "`tags` must be a list of tags (objects with a `slug`)",
                ),
            }
        }
        model.hosts.push(Named {
            name,
            pos: name_pos,
            level,
        });
    }
    if model.hosts.is_empty() && p.is_empty() {
        p.push(
            Pos::start(file),
            "this NetBox export has no device with a name and a primary IP; export devices that have both",
        );
    }
    Some(model)
}

/// A NetBox platform slug -> a fanout platform: `cisco-ios-xe` is
/// `cisco_ios_xe`, then `iosxe`.
fn platform(slug: &str) -> Option<fanout_core::Platform> {
    let name = slug.to_ascii_lowercase().replace('-', "_");
    let joined = name
        .replace("ios_xe", "iosxe")
        .replace("ios_xr", "iosxr")
        .replace("nx_os", "nxos");
    [name.as_str(), joined.as_str()]
        .iter()
        .find_map(|n| parse_platform(n).ok().map(|(p, _)| p))
        .or_else(|| {
            let last = joined.rsplit('_').next()?;
            parse_platform(last).ok().map(|(p, _)| p)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `nested` reads is what the derived `untagged` reading gives.
    #[test]
    fn nested_reads_as_the_untagged_enum_does() {
        let texts = [
            r#""cisco-ios""#,
            r#""esc\"aped""#,
            r#"{"id": 1, "name": "Cisco IOS", "slug": "cisco-ios"}"#,
            r#"{"address": "127.0.0.1/32", "family": 4}"#,
            r#"{"value": "active", "label": "Active"}"#,
            r#"{"slug": 5}"#,
            r#"{"slug": null, "name": "n"}"#,
            r#"{"slug": "a", "slug": "b"}"#,
            r#"{}"#,
            "null",
            "5",
            "true",
            r#"["a", "b"]"#,
        ];
        for text in texts {
            let raw: &RawValue = serde_json::from_str(text).unwrap();
            let fast = nested(raw).map(|n| n.map(|n| n.text().map(str::to_string)));
            let derived = serde_json::from_str::<Option<Nested>>(text)
                .map(|n| n.map(|n| n.text().map(str::to_string)));
            assert_eq!(fast.ok(), derived.ok(), "{text}");
        }
        for text in [
            r#"[{"slug": "lab"}, {"name": "Core"}, "plain"]"#,
            "[]",
            "null",
            r#"[null]"#,
            r#"[{"slug": 1}]"#,
            r#"{"slug": "x"}"#,
        ] {
            let raw: &RawValue = serde_json::from_str(text).unwrap();
            let texts = |l: Vec<Nested>| -> Vec<Option<String>> {
                l.iter().map(|n| n.text().map(str::to_string)).collect()
            };
            let fast = nested_list(raw).map(|l| l.map(texts));
            let derived = serde_json::from_str::<Option<Vec<Nested>>>(text).map(|l| l.map(texts));
            assert_eq!(fast.ok(), derived.ok(), "{text}");
        }
    }

    /// Positions asked for in any order, on lines with multi-byte
    /// characters, are those counted from the start of their line.
    #[test]
    fn positions_counted_from_the_last_one_are_the_same() {
        let text = "{\"a\": \"é\", \"b\": 1,\n \"ü\": [\"x\", \"ÿÿ\"], \"c\": 2}\n";
        let fresh = |offset: usize| Lines::new(text, 0).pos(offset);
        let lines = Lines::new(text, 0);
        let offsets: Vec<usize> = (0..=text.len()).collect();
        for &o in offsets
            .iter()
            .chain(offsets.iter().rev())
            .chain([5, 30, 3, 40, 2].iter())
        {
            assert_eq!(lines.pos(o), fresh(o), "offset {o}");
        }
    }
}
