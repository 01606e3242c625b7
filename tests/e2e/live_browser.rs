//! The live page in a real browser: headless Chromium (Debian's `chromium`)
//! driven over the DevTools protocol (chromiumoxide) while `fanout run
//! --serve` runs `exec show version` on 1,000 simulated devices.
//!
//! Skipped with a note when no Chromium is installed, unless
//! `FANOUT_CHROMIUM` is set (CI sets it): then a missing browser fails.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chromiumoxide::browser::{Browser, BrowserConfig};
use chromiumoxide::page::Page;
use futures_util::StreamExt;
use serde_json::Value;

use crate::live::serve;
use crate::support::json_lines;

const DEVICES: usize = 1000;
/// Login password and enable secret of every device: must never reach the page.
const PASSWORD: &str = "Zq9-live-view-Pa55word";
const SECRET: &str = "Xv7-live-view-En4ble";

/// The browser to drive: `FANOUT_CHROMIUM` (a path, or any value to
/// require one on PATH), else `chromium` on PATH, else none (skip).
fn chromium() -> Option<PathBuf> {
    let wanted = std::env::var_os("FANOUT_CHROMIUM").filter(|v| !v.is_empty());
    if let Some(path) = wanted.as_ref().map(PathBuf::from).filter(|p| p.is_file()) {
        return Some(path);
    }
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .flat_map(|dir| ["chromium", "chromium-browser"].map(|n| dir.join(n)))
            .find(|p| p.is_file())
    });
    match (on_path, wanted) {
        (Some(path), _) => Some(path),
        (None, Some(v)) => panic!(
            "FANOUT_CHROMIUM={v:?} is set but no Chromium was found: apt-get install chromium"
        ),
        (None, None) => {
            eprintln!(
                "note: skipping the headless-Chromium test: no `chromium` on PATH (apt-get install chromium; CI sets FANOUT_CHROMIUM so it never skips)"
            );
            None
        }
    }
}

/// What the page shows, read in one JavaScript turn (so it is consistent).
const SNAPSHOT: &str = r#"(() => {
  const text = (sel) => { const e = document.querySelector(sel); return e ? e.textContent : null; };
  return {
    state: document.body.dataset.state,
    names: [...document.querySelectorAll('#list .row .name')].map((e) => e.textContent),
    done: text('.run[data-run="0"] .v-done'),
    ok: text('.run[data-run="0"] .v-ok'),
    failed: text('.run[data-run="0"] .v-failed'),
    summary: text('.run[data-run="0"] .summary'),
    kinds: [...document.querySelectorAll('.run .kind')].map((e) => e.textContent),
    chipOk: text('[data-count="ok"]'),
    chipFailed: text('[data-count="failed"]'),
    slowest: document.querySelectorAll('.run .slowest tr').length,
    timeline: (() => { const c = document.querySelector('.run canvas.timeline'); return c ? c.width : 0; })(),
    html: document.documentElement.outerHTML,
  };
})()"#;

async fn snapshot(page: &Page) -> Value {
    page.evaluate(SNAPSHOT)
        .await
        .expect("evaluate")
        .into_value()
        .expect("a JSON snapshot")
}

/// Polls the page until `ready` holds (generous limit: shared machine).
async fn until(page: &Page, limit: Duration, what: &str, ready: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let snap = snapshot(page).await;
        if ready(&snap) {
            return snap;
        }
        assert!(
            start.elapsed() < limit,
            "the page never showed {what}; last: state {} names {} summary {:?}",
            snap["state"],
            snap["names"].as_array().map_or(0, Vec::len),
            snap["summary"]
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn names(snap: &Value) -> Vec<String> {
    snap["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn headless_chromium_shows_a_1000_device_run_as_it_happens() {
    let Some(chromium) = chromium() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let inventory = tmp.path().join("fleet.yaml");
    // 1,000 devices answering after 500 ms, -c 40: 25 rounds, 12 s or more,
    // so even a slow browser start on a busy machine sees the run midway.
    let fleet = fanout_sim::Fleet::builder()
        .devices(DEVICES)
        .latency(Duration::from_millis(500), Duration::from_millis(30))
        .credentials("cisco", PASSWORD, Some(SECRET))
        .faults("auth_fail=r0007+r0500".parse().unwrap())
        .inventory_out(&inventory)
        .start()
        .unwrap();
    let inventory_text = std::fs::read_to_string(&inventory).unwrap();
    assert!(
        inventory_text.contains(PASSWORD),
        "the inventory holds the secret the page must not show"
    );
    let all: BTreeSet<String> = fleet.devices().iter().map(|d| d.name.clone()).collect();
    assert_eq!(all.len(), DEVICES);

    let s = serve(&[
        "run",
        "-i",
        inventory.to_str().unwrap(),
        "-e",
        "threads",
        "-c",
        "40",
        "--format",
        "jsonl",
        "--serve",
        "127.0.0.1:0",
        "--serve-linger",
        "5m",
        "exec",
        "show",
        "version",
    ]);
    let profile = tempfile::tempdir().unwrap();
    let config = BrowserConfig::builder()
        .chrome_executable(&chromium)
        .new_headless_mode()
        .no_sandbox()
        .user_data_dir(profile.path())
        .window_size(1280, 900)
        .args([
            "disable-gpu",
            "disable-quic",
            "no-first-run",
            "disable-background-networking",
            "disable-component-update",
            "disable-sync",
        ])
        .launch_timeout(Duration::from_secs(60))
        .request_timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let url = s.url.clone();
    let (during, after) = rt.block_on(async move {
        let (mut browser, mut handler) = Browser::launch(config).await.expect("launch chromium");
        // Events the crate cannot decode (newer Chromium) are not our test.
        let pump = tokio::spawn(async move { while handler.next().await.is_some() {} });
        let page = browser.new_page(url.as_str()).await.expect("open the page");

        // During the run: some hosts, not all.
        let during = until(&page, Duration::from_secs(120), "a first host", |s| {
            !names(s).is_empty()
        })
        .await;

        // After the run: every host and the final counts.
        let after = until(&page, Duration::from_secs(300), "the final summary", |s| {
            s["state"] == "done" && s["summary"].as_str().is_some_and(|t| !t.is_empty())
        })
        .await;

        // The list filters: by words, and by status.
        let visible = "[...document.querySelectorAll('#list .row')].filter((r) => !r.hidden).map((r) => r.querySelector('.name').textContent)";
        page.evaluate("(() => { const f = document.querySelector('#filter'); f.value = 'r0500'; f.dispatchEvent(new Event('input')); })()")
            .await
            .unwrap();
        let by_name: Vec<String> = page.evaluate(visible).await.unwrap().into_value().unwrap();
        page.evaluate("(() => { const f = document.querySelector('#filter'); f.value = ''; f.dispatchEvent(new Event('input')); document.querySelector('#status-filter [data-status=failed]').click(); })()")
            .await
            .unwrap();
        let failed: Vec<String> = page.evaluate(visible).await.unwrap().into_value().unwrap();
        page.evaluate("document.querySelector('#status-filter [data-status=\"\"]').click()")
            .await
            .unwrap();

        // A host's output on click.
        page.evaluate("document.querySelector('#list .row.s-ok').click()")
            .await
            .unwrap();
        let detail = async {
            loop {
                let v: Value = page
                    .evaluate("document.querySelector('#detail-body').textContent")
                    .await
                    .unwrap()
                    .into_value()
                    .unwrap_or(Value::Null);
                if v.as_str().is_some_and(|t| t.contains("uptime is")) {
                    break v;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        let detail = tokio::time::timeout(Duration::from_secs(30), detail)
            .await
            .expect("the output of the clicked host");
        let html: String = page
            .evaluate("document.documentElement.outerHTML")
            .await
            .unwrap()
            .into_value()
            .unwrap();
        browser.close().await.ok();
        browser.wait().await.ok();
        pump.abort();
        (during, (after, detail, html, by_name, failed))
    });
    let (after, detail, html, by_name, failed) = after;
    assert_eq!(by_name, ["r0500"], "the name filter");
    let failed: BTreeSet<String> = failed.into_iter().collect();
    assert_eq!(
        failed,
        BTreeSet::from(["r0007".to_string(), "r0500".to_string()]),
        "the status filter"
    );

    let seen = names(&during);
    eprintln!(
        "headless Chromium saw {} of {DEVICES} hosts during the run, all {} after",
        seen.len(),
        names(&after).len()
    );
    assert_eq!(during["state"], "live", "seen while the run was going on");
    assert!(
        seen.len() < DEVICES,
        "the first look came before the end ({} of {DEVICES} hosts)",
        seen.len()
    );
    let distinct: BTreeSet<String> = seen.iter().cloned().collect();
    assert_eq!(distinct.len(), seen.len(), "each host once");
    assert!(distinct.is_subset(&all));
    assert_eq!(
        during["done"].as_str().unwrap(),
        seen.len().to_string(),
        "progress agrees with the list"
    );

    let shown: BTreeSet<String> = names(&after).into_iter().collect();
    assert_eq!(names(&after).len(), DEVICES, "each host once");
    assert_eq!(shown, all, "every host by name");
    assert_eq!(after["done"], "1000");
    assert_eq!(after["ok"], "998");
    assert_eq!(after["failed"], "2");
    assert_eq!(after["chipOk"], "998");
    assert_eq!(after["chipFailed"], "2");
    assert_eq!(after["kinds"], serde_json::json!(["auth 2"]));
    assert_eq!(after["slowest"], 10);
    assert!(
        after["timeline"].as_u64().unwrap() > 100,
        "the timeline is drawn"
    );
    let summary = after["summary"].as_str().unwrap();
    assert!(
        summary.starts_with("1000 hosts: 998 ok, 2 failed, 0 timeout, 0 cancelled in ")
            && summary.ends_with(" s (threads, concurrency 40)"),
        "{summary}"
    );
    assert!(
        detail.as_str().unwrap().contains("Cisco IOS Software"),
        "{detail}"
    );
    for secret in [PASSWORD, SECRET] {
        assert!(!html.contains(secret), "a secret reached the page");
        assert!(!after["html"].as_str().unwrap().contains(secret));
    }

    s.interrupt();
    let (code, stdout, _) = s.wait(Duration::from_secs(60));
    assert_eq!(code, 1, "two hosts failed");
    let lines = json_lines(&stdout);
    assert_eq!(lines.len(), DEVICES + 1);
    let wall = lines[DEVICES]["summary"]["wall_s"].as_f64().unwrap();
    assert!(
        summary.contains(&format!("in {wall:.2} s")),
        "the page's summary is the run's: {summary} vs {wall}"
    );
    drop(fleet);
}
