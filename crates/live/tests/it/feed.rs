//! `fanout compare --serve`: children's runs reach the comparing process's
//! page over the feed socket.

use std::time::Duration;

use fanout_core::RunSummary;
use fanout_live::{FeedListener, FeedWriter, RunInfo};

use crate::support::{connect, of_type, outcome, read_until, runtime, server};

fn info(label: &str, executor: &str) -> RunInfo {
    RunInfo {
        label: label.into(),
        executor: executor.into(),
        concurrency: 4,
        hosts: 2,
        task: "sleep 10ms".into(),
    }
}

#[test]
fn each_child_run_becomes_a_section_and_a_dead_child_ends_its_own() {
    let live = server(false);
    let url = live.url().to_string();
    let feed = FeedListener::start(live.handle().clone()).unwrap();

    let rt = runtime();
    rt.block_on(async {
        let mut ws = connect(&url).await;
        // Children run one after another, as compare starts them.
        let child = FeedWriter::connect(feed.path(), info("[1/2] seq run 1", "seq")).unwrap();
        child.host(outcome("h1", "a\n"));
        child.host(outcome("h2", "b\n"));
        let mut summary = RunSummary::empty("seq", 1);
        summary.hosts = 2;
        summary.counts.ok = 2;
        child.finish(&summary);
        let (mut events, _) = read_until(&mut ws, Duration::from_secs(10), |e| {
            of_type(e, "run_end").len() == 1
        })
        .await;
        // A child that dies after one host, without its summary.
        let dying = FeedWriter::connect(feed.path(), info("[2/2] async run 1", "async")).unwrap();
        dying.host(outcome("h1", "a\n"));
        drop(dying);
        let (more, _) = read_until(&mut ws, Duration::from_secs(10), |e| {
            !of_type(e, "run_end").is_empty()
        })
        .await;
        events.extend(more);
        let starts = of_type(&events, "run_start");
        assert_eq!(starts.len(), 2);
        assert_eq!(starts[0]["label"], "[1/2] seq run 1");
        assert_eq!(starts[0]["run"], 0);
        assert_eq!(starts[1]["label"], "[2/2] async run 1");
        assert_eq!(starts[1]["run"], 1);
        let hosts = of_type(&events, "host");
        assert_eq!(hosts.len(), 3);
        assert_eq!(hosts[2]["run"], 1);
        let ends = of_type(&events, "run_end");
        assert_eq!(ends[0]["summary"]["ok"], 2);
        assert_eq!(ends[1]["run"], 1);
        assert_eq!(ends[1]["summary"], serde_json::Value::Null);
    });
    live.finish(Duration::ZERO, &|| false);
}
