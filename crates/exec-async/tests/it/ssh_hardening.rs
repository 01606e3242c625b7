//! SSH attempts against devices that misbehave in ways the simulator does
//! not model: nothing of an abandoned attempt may outlive it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use fanout_core::{CancelToken, ErrorKind, HostKeyPolicy, Job, Phase, Status, Target, Task};
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A device that sends its SSH banner, then never answers the key
/// exchange. Counts connections accepted and connections the client
/// closed (EOF or reset).
async fn stalled_kex_device() -> (u16, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (accepted, closed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (a, c) = (accepted.clone(), closed.clone());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            a.fetch_add(1, Ordering::SeqCst);
            let c = c.clone();
            tokio::spawn(async move {
                let _ = socket.write_all(b"SSH-2.0-stalled_kex\r\n").await;
                let mut buf = [0u8; 4096];
                // Swallow the client's KEXINIT and never answer it.
                while matches!(socket.read(&mut buf).await, Ok(n) if n > 0) {}
                c.fetch_add(1, Ordering::SeqCst);
            });
        }
    });
    (port, accepted, closed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_key_exchange_leaves_no_session_behind() {
    let (port, accepted, closed) = stalled_kex_device().await;
    let mut target = Target::new("stalled", "127.0.0.1");
    target.port = port;
    target.username = Some("admin".into());
    target.credentials.password = Some(fanout_core::Secret::new("pw"));
    let mut job = Job::new(Task::Exec {
        command: "show version".into(),
    });
    job.host_keys = HostKeyPolicy::Off;
    job.timeouts.connect = Some(Duration::from_millis(300));
    job.retry.retries = 2;
    job.retry.backoff = Duration::from_millis(10);
    let outcomes: Vec<_> =
        fanout_exec_async::run_stream(Arc::new(job), vec![target], CancelToken::new())
            .unwrap()
            .collect()
            .await;
    assert_eq!(outcomes.len(), 1);
    let o = &outcomes[0];
    assert_eq!(
        (o.status, o.error_kind, o.phase),
        (
            Status::Timeout,
            Some(ErrorKind::Timeout),
            Some(Phase::Connect)
        ),
        "{o:?}"
    );
    assert_eq!(o.attempts, 3, "{o:?}");
    // The runtime lives on (as in any program using run_stream): each
    // abandoned attempt's connection must be closed all the same.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while closed.load(Ordering::SeqCst) < accepted.load(Ordering::SeqCst)
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        3,
        "one connection per attempt"
    );
    assert_eq!(
        closed.load(Ordering::SeqCst),
        3,
        "a connection of a timed-out attempt is still open: its SSH session task leaked"
    );
}
