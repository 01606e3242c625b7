//! What a browser receives: the replay, live events, progress, the end.

use std::time::{Duration, Instant};

use fanout_core::RunSummary;
use fanout_live::{PREVIEW_BYTES, RunInfo};

use crate::support::{connect, get, host_header, of_type, outcome, read_until, runtime, server};

fn info(hosts: usize) -> RunInfo {
    RunInfo {
        label: "async".into(),
        executor: "async".into(),
        concurrency: 10,
        hosts,
        task: "exec show version".into(),
    }
}

fn summary(hosts: usize) -> RunSummary {
    let mut s = RunSummary::empty("async", 10);
    s.hosts = hosts;
    s.counts.ok = hosts;
    s
}

#[test]
fn a_late_browser_gets_everything_so_far_then_the_rest_live_then_the_end() {
    let live = server(false);
    let url = live.url().to_string();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with('/'),
        "{url}"
    );
    let h = live.handle().clone();
    let run = h.begin_run(info(5));
    for n in 1..=3 {
        h.host(run, outcome(&format!("r{n}"), "IOS\n"));
    }
    let rt = runtime();
    rt.block_on(async {
        let mut ws = connect(&url).await;
        let (events, _) = read_until(&mut ws, Duration::from_secs(10), |e| {
            of_type(e, "host").len() == 3
        })
        .await;
        assert_eq!(events[0]["type"], "hello");
        assert_eq!(events[0]["title"], "fanout run test");
        assert_eq!(events[1]["type"], "run_start");
        assert_eq!(events[1]["hosts"], 5);
        assert_eq!(events[1]["task"], "exec show version");
        let hosts = of_type(&events, "host");
        assert_eq!(hosts[2]["outcome"]["host"], "r3");
        assert_eq!(hosts[2]["i"], 2);
        assert_eq!(hosts[2]["progress"]["done"], 3);
        assert_eq!(hosts[2]["progress"]["hosts"], 5);

        // Now live: two more, the summary, the end.
        h.host(run, outcome("r4", "IOS\n"));
        h.host(run, outcome("r5", "IOS\n"));
        h.end_run(run, Some(&summary(5)));
        let finisher = std::thread::spawn(move || live.finish(Duration::ZERO, &|| false));
        let (rest, closed) = read_until(&mut ws, Duration::from_secs(10), |_| false).await;
        assert!(closed, "the server closes the websocket at the end");
        let names: Vec<_> = of_type(&rest, "host")
            .iter()
            .map(|e| e["outcome"]["host"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(names, ["r4", "r5"]);
        let end = of_type(&rest, "run_end");
        assert_eq!(end[0]["summary"]["ok"], 5);
        assert_eq!(end[0]["summary"]["executor"], "async");
        assert_eq!(rest.last().unwrap()["type"], "done");
        finisher.join().unwrap();
    });
}

#[test]
fn a_browser_that_reads_nothing_never_slows_the_run_and_catches_up() {
    const HOSTS: usize = 20_000;
    let live = server(false);
    let url = live.url().to_string();
    let h = live.handle().clone();
    let rt = runtime();
    rt.block_on(async {
        // Connected, but not reading a byte while the run goes on.
        let mut ws = connect(&url).await;
        let run = h.begin_run(info(HOSTS));
        let out = "x".repeat(2000);
        let started = Instant::now();
        for n in 0..HOSTS {
            h.host(run, outcome(&format!("h{n}"), &out));
        }
        h.end_run(run, Some(&summary(HOSTS)));
        let took = started.elapsed();
        // 20,000 outcomes of 2 kB handed over: no waiting on the browser
        // (a blocking send would stall at the socket buffer, ~200 kB).
        assert!(took < Duration::from_secs(5), "handing over took {took:?}");
        let (events, _) = read_until(&mut ws, Duration::from_secs(60), |e| {
            !of_type(e, "run_end").is_empty()
        })
        .await;
        let hosts = of_type(&events, "host");
        assert_eq!(hosts.len(), HOSTS);
        for (n, e) in hosts.iter().enumerate() {
            assert_eq!(e["i"], n, "in order, none lost or repeated");
        }
        assert_eq!(hosts[HOSTS - 1]["progress"]["done"], HOSTS);
    });
    live.finish(Duration::ZERO, &|| false);
}

#[test]
fn long_outputs_are_previewed_and_served_whole_on_demand() {
    let live = server(false);
    let url = live.url().to_string();
    let h = live.handle().clone();
    let run = h.begin_run(info(1));
    let big: String = (0..20_000).map(|n| format!("line {n}\n")).collect();
    h.host(run, outcome("r1", &big));
    let rt = runtime();
    rt.block_on(async {
        let mut ws = connect(&url).await;
        let (events, _) = read_until(&mut ws, Duration::from_secs(10), |e| {
            !of_type(e, "host").is_empty()
        })
        .await;
        let host = of_type(&events, "host")[0];
        assert_eq!(host["cut"], true);
        let preview = host["outcome"]["outputs"][0]["stdout"].as_str().unwrap();
        assert_eq!(preview.len(), PREVIEW_BYTES);
        assert!(big.starts_with(preview));
    });
    let addr = live.local_addr();
    let (status, head, body) = get(
        addr,
        "/api/output?run=0&i=0",
        &[("Host", &host_header(addr))],
    );
    assert_eq!(status, 200, "{head}{body}");
    assert!(head.contains("content-type: application/json"), "{head}");
    let full: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(full["outputs"][0]["stdout"], big);
    assert_eq!(full["host"], "r1");
    let (status, _, body) = get(
        addr,
        "/api/output?run=0&i=1",
        &[("Host", &host_header(addr))],
    );
    assert_eq!(status, 404);
    assert!(body.contains("no host 1 in run 0"), "{body}");
    live.finish(Duration::ZERO, &|| false);
}

#[test]
fn lingering_keeps_the_page_for_late_browsers_and_stop_ends_it() {
    let live = server(false);
    let url = live.url().to_string();
    let addr = live.local_addr();
    let h = live.handle().clone();
    let run = h.begin_run(info(1));
    h.host(run, outcome("r1", "IOS\n"));
    h.end_run(run, Some(&summary(1)));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = std::sync::Arc::clone(&stop);
    let started = Instant::now();
    let finisher = std::thread::spawn(move || {
        live.finish(Duration::from_secs(60), &|| {
            flag.load(std::sync::atomic::Ordering::SeqCst)
        })
    });
    std::thread::sleep(Duration::from_millis(300));
    // The run is over; a browser arriving now still gets all of it.
    let rt = runtime();
    rt.block_on(async {
        let mut ws = connect(&url).await;
        let (events, _) = read_until(&mut ws, Duration::from_secs(10), |e| {
            !of_type(e, "done").is_empty()
        })
        .await;
        assert_eq!(of_type(&events, "host").len(), 1);
        assert_eq!(of_type(&events, "done")[0]["linger_ms"], 60_000);
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let (_, closed) = read_until(&mut ws, Duration::from_secs(10), |_| false).await;
        assert!(closed);
    });
    finisher.join().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "stop ends the linger"
    );
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "the server is gone"
    );
}
