//! Parsed records and diffs in every JSON format; the table ignores them.

use std::fs;

use fanout_report::{
    HostDiffJson, HostExtras, JsonLinesReporter, JsonReporter, OutDir, OutputExtras, Reporter,
    TableReporter,
};
use serde_json::{Value, json};

use crate::{ok, summary};

fn extras() -> HostExtras {
    let parsed = fanout_parse::Parser::builtin()
        .parse(
            "cisco_ios",
            "show ip interface brief",
            "Interface                  IP-Address      OK? Method Status                Protocol\n\
             Loopback0                  203.0.113.1     YES NVRAM  up                    up\n",
        )
        .unwrap();
    HostExtras {
        outputs: vec![OutputExtras {
            parsed: Some(parsed.records),
            parse_error: None,
        }],
        diff: Some(HostDiffJson {
            changed: false,
            unified: None,
        }),
    }
}

const RECORD: &str =
    r#"{"INTERFACE":"Loopback0","IP_ADDRESS":"203.0.113.1","STATUS":"up","PROTO":"up"}"#;

#[test]
fn jsonl_json_and_summary_json_carry_parsed_records_in_template_order() {
    let host = ok("r1", "show ip interface brief", "raw\n");
    let mut lines = Vec::new();
    {
        let mut r = JsonLinesReporter::new(Box::new(&mut lines));
        r.host_with(&host, &extras()).unwrap();
        r.finish(&summary()).unwrap();
    }
    let lines = String::from_utf8(lines).unwrap();
    let first = lines.lines().next().unwrap();
    assert!(
        first.contains(&format!(r#""parsed":[{RECORD}]"#)),
        "{first}"
    );
    let v: Value = serde_json::from_str(first).unwrap();
    assert_eq!(v["outputs"][0]["stdout"], "raw\n");
    assert_eq!(v["changed"], json!(false));
    assert!(v.get("diff").is_none());

    let mut doc = Vec::new();
    {
        let mut r = JsonReporter::new(Box::new(&mut doc));
        r.host_with(&host, &extras()).unwrap();
        r.host(&ok("r2", "c", "plain\n")).unwrap();
        r.finish(&summary()).unwrap();
    }
    let doc: Value = serde_json::from_slice(&doc).unwrap();
    assert_eq!(
        doc["hosts"][0]["outputs"][0]["parsed"][0]["IP_ADDRESS"],
        "203.0.113.1"
    );
    assert!(doc["hosts"][1]["outputs"][0].get("parsed").is_none());
    assert!(doc["hosts"][1].get("changed").is_none());

    let tmp = tempfile::tempdir().unwrap();
    let mut dir = OutDir::create(&tmp.path().join("out")).unwrap();
    dir.host_with(&host, &extras()).unwrap();
    dir.finish(&summary()).unwrap();
    let text = fs::read_to_string(tmp.path().join("out/summary.json")).unwrap();
    let saved: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        saved["hosts"][0]["outputs"][0]["parsed"][0]["INTERFACE"],
        "Loopback0"
    );
    assert_eq!(saved["files"]["r1"], "r1.txt");
    // Pretty-printed, still in template order.
    let interface = text.find("\"INTERFACE\"").unwrap();
    assert!(interface < text.find("\"PROTO\"").unwrap());
}

#[test]
fn the_table_prints_the_same_with_or_without_extras() {
    let host = ok("r1", "show ip interface brief", "raw\n");
    let render = |with: bool| {
        let mut buf = Vec::new();
        {
            let mut t = TableReporter::new(Box::new(&mut buf));
            if with {
                t.host_with(&host, &extras()).unwrap();
            } else {
                t.host(&host).unwrap();
            }
            t.finish(&summary()).unwrap();
        }
        String::from_utf8(buf).unwrap()
    };
    assert_eq!(render(true), render(false));
}
