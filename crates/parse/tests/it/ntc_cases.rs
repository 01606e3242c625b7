//! Every test case ntc-templates has for the shipped templates
//! (`ntc/PLATFORM/COMMAND/*.raw` with the records it expects in `*.yml`),
//! parsed through the shipped index as ntc-templates' `parse_output` does:
//! platform from the folder, command = the folder name with spaces.

use std::fs;
use std::path::{Path, PathBuf};

use fanout_parse::{Parser, shipped_templates};
use serde_json::{Map, Value};

fn cases() -> Vec<(String, String, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/ntc");
    let mut out = Vec::new();
    for platform in fs::read_dir(&root).unwrap() {
        let platform = platform.unwrap().path();
        if !platform.is_dir() {
            continue;
        }
        for command in fs::read_dir(&platform).unwrap() {
            let command = command.unwrap().path();
            for file in fs::read_dir(&command).unwrap() {
                let file = file.unwrap().path();
                if file.extension().is_some_and(|e| e == "raw") {
                    out.push((
                        platform.file_name().unwrap().to_string_lossy().into_owned(),
                        command
                            .file_name()
                            .unwrap()
                            .to_string_lossy()
                            .replace('_', " "),
                        file,
                    ));
                }
            }
        }
    }
    out.sort();
    out
}

/// Our records as ntc-templates' `parse_output` returns them: keys lower-cased.
fn as_ntc(records: &[fanout_parse::Record]) -> Value {
    Value::Array(
        records
            .iter()
            .map(|r| {
                let obj: Map<String, Value> = r
                    .fields()
                    .iter()
                    .map(|(k, v)| (k.to_lowercase(), serde_json::to_value(v).unwrap()))
                    .collect();
                Value::Object(obj)
            })
            .collect(),
    )
}

#[test]
fn every_ntc_test_case_of_the_shipped_templates_gives_ntc_records() {
    let parser = Parser::builtin();
    let cases = cases();
    let mut failures = Vec::new();
    let mut templates_seen = std::collections::BTreeSet::new();
    for (platform, command, raw) in &cases {
        let output = fs::read_to_string(raw).unwrap();
        let yml = fs::read_to_string(raw.with_extension("yml")).unwrap();
        let expected: Value = serde_saphyr::from_str(&yml).unwrap();
        let expected = &expected["parsed_sample"];
        match parser.parse(platform, command, &output) {
            Ok(parsed) => {
                templates_seen.insert(parsed.template.clone());
                let got = as_ntc(&parsed.records);
                if &got != expected {
                    failures.push(format!(
                        "{}: records differ\n got: {got}\nwant: {expected}",
                        raw.display()
                    ));
                }
            }
            Err(e) => failures.push(format!("{}: {e}", raw.display())),
        }
    }
    assert!(cases.len() >= 43, "only {} cases found", cases.len());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // Each shipped template has ntc-templates cases, and each was used.
    let shipped: std::collections::BTreeSet<String> =
        shipped_templates().map(String::from).collect();
    assert_eq!(templates_seen, shipped);
}
