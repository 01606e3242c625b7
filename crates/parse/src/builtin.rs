//! The templates embedded in the binary: ntc-templates' whole index and the
//! templates for the simulator's platforms (`templates/README.md`).

use std::sync::OnceLock;

use textfsm_core::{Index, Template};

use crate::{ParseError, Parsed, attributes, run_template};

/// ntc-templates' index, verbatim.
const INDEX: &str = include_str!("../templates/index");

/// `(file name, text)` of a file in `templates/`.
macro_rules! shipped {
    ($name:literal) => {
        ($name, include_str!(concat!("../templates/", $name)))
    };
}

/// Shipped template files: (file name, text).
const TEMPLATES: [(&str, &str); 12] = [
    shipped!("cisco_ios_show_version.textfsm"),
    shipped!("cisco_ios_show_ip_interface_brief.textfsm"),
    shipped!("cisco_ios_show_clock.textfsm"),
    shipped!("cisco_nxos_show_version.textfsm"),
    shipped!("cisco_nxos_show_ip_interface_brief.textfsm"),
    shipped!("cisco_nxos_show_clock.textfsm"),
    shipped!("arista_eos_show_version.textfsm"),
    shipped!("arista_eos_show_ip_interface_brief.textfsm"),
    shipped!("arista_eos_show_clock.textfsm"),
    shipped!("cisco_xr_show_version.textfsm"),
    shipped!("cisco_xr_show_ip_interface_brief.textfsm"),
    shipped!("juniper_junos_show_version.textfsm"),
];

/// The names of the shipped template files, by platform.
pub fn shipped_templates() -> impl Iterator<Item = &'static str> {
    TEMPLATES.iter().map(|(name, _)| *name)
}

fn index() -> Result<&'static Index, ParseError> {
    static INDEX_PARSED: OnceLock<Result<Index, String>> = OnceLock::new();
    INDEX_PARSED
        .get_or_init(|| Index::parse_str(INDEX).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|message| ParseError::Index {
            path: "the shipped ntc-templates index".into(),
            message: message.clone(),
        })
}

/// The compiled shipped template `name`, compiled once per process.
fn template(name: &str) -> Option<Result<&'static Template, ParseError>> {
    static COMPILED: [OnceLock<Result<Template, String>>; TEMPLATES.len()] =
        [const { OnceLock::new() }; TEMPLATES.len()];
    let i = TEMPLATES.iter().position(|(n, _)| *n == name)?;
    let compiled =
        COMPILED[i].get_or_init(|| Template::parse_str(TEMPLATES[i].1).map_err(|e| e.to_string()));
    Some(compiled.as_ref().map_err(|message| ParseError::Template {
        template: name.to_string(),
        message: message.clone(),
    }))
}

pub(crate) fn parse(platform: &str, command: &str, output: &str) -> Result<Parsed, ParseError> {
    let attrs = attributes(platform, command);
    let Some(entry) = index()?.find_match(&attrs) else {
        return Err(ParseError::NoTemplate {
            index: "ntc-templates' index".into(),
            platform: platform.to_string(),
            command: command.to_string(),
        });
    };
    let name = entry.templates().join(":");
    let [single] = entry.templates() else {
        return Err(ParseError::NotShipped {
            platform: platform.to_string(),
            command: command.to_string(),
            template: name,
        });
    };
    match template(single) {
        None => Err(ParseError::NotShipped {
            platform: platform.to_string(),
            command: command.to_string(),
            template: name,
        }),
        Some(compiled) => Ok(Parsed {
            records: run_template(compiled?, single, output)?,
            template: name,
        }),
    }
}
