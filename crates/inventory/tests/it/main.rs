//! Tests of fanout-inventory through its public API: both shapes,
//! inheritance, secrets, every error case (with line and column) and filters.

mod convert;
mod errors;
mod filters;
mod formats;
mod generate;
mod limits;
mod props;
mod scale;
mod secrets;
mod seeds;
mod shapes;
mod ssh_config;
mod transports;

use std::path::Path;

use fanout_core::Target;
use fanout_inventory::{Inventory, InventoryError};

/// The file name every inline inventory pretends to come from.
const FILE: &str = "lab/inv.yaml";

/// Strips the first newline and the common indentation, so inline YAML can
/// be indented like the test code.
fn y(text: &str) -> String {
    let text = text.strip_prefix('\n').unwrap_or(text);
    let indent = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    text.lines()
        .map(|l| l.get(indent..).unwrap_or("").trim_end())
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// Parses with the given environment variables only.
fn parse_env(yaml: &str, vars: &[(&str, &str)]) -> Result<Inventory, InventoryError> {
    let env = |name: &str| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    };
    fanout_inventory::parse(yaml, Path::new(FILE), &env)
}

/// Parses and expects success.
fn parse(yaml: &str) -> Inventory {
    parse_env(yaml, &[]).unwrap_or_else(|e| panic!("expected a valid inventory, got:\n{e}"))
}

/// Parses and expects failure: (the printed error, its locations).
fn error(yaml: &str) -> (String, Vec<(usize, usize)>) {
    error_env(yaml, &[])
}

fn error_env(yaml: &str, vars: &[(&str, &str)]) -> (String, Vec<(usize, usize)>) {
    match parse_env(yaml, vars) {
        Ok(inv) => panic!("expected an error, got {:#?}", inv.targets),
        Err(e) => (e.to_string(), e.locations()),
    }
}

/// Asserts one problem at `line:col` whose message contains every `needle`.
fn assert_error(yaml: &str, line: usize, col: usize, needles: &[&str]) -> String {
    let (text, locations) = error(yaml);
    assert_eq!(locations, vec![(line, col)], "{text}");
    assert!(
        text.starts_with(&format!("{FILE}:{line}:{col}: ")),
        "{text}"
    );
    for needle in needles {
        assert!(text.contains(needle), "missing `{needle}` in:\n{text}");
    }
    text
}

fn target<'a>(inv: &'a Inventory, name: &str) -> &'a Target {
    inv.targets
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no target `{name}`"))
}
