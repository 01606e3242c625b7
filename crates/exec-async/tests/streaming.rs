//! Devices that never stop talking: an SSH server (russh, on loopback)
//! whose exec and shell channels stream output forever and never show a
//! prompt. The command timeout and cancellation must still stop the host,
//! although data arrives all the time.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fanout_core::{
    CancelToken, CliMode, CollectSink, ErrorKind, Executor, HostKeyPolicy, HostOutcome, Job, Phase,
    Secret, Status, Target, Task,
};
use fanout_exec_async::AsyncExecutor;
use russh::keys::PrivateKey;
use russh::keys::ssh_key::private::Ed25519Keypair;
use russh::server::{Auth, ChannelOpenHandle, Handle, Msg, Session};
use russh::{Channel, ChannelId, MethodKind, MethodSet};
use tokio::net::TcpListener;

/// Accepts any password; every exec or shell channel gets output forever.
struct Streamer;

impl russh::server::Handler for Streamer {
    type Error = russh::Error;

    async fn auth_password(&mut self, _user: &str, _password: &str) -> Result<Auth, Self::Error> {
        Ok(Auth::Accept)
    }

    async fn channel_open_session(
        &mut self,
        _channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        reply.accept().await;
        Ok(())
    }

    async fn pty_request(
        &mut self,
        channel: ChannelId,
        _term: &str,
        _col_width: u32,
        _row_height: u32,
        _pix_width: u32,
        _pix_height: u32,
        _modes: &[(russh::Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)?;
        Ok(())
    }

    async fn shell_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)?;
        tokio::spawn(stream_forever(session.handle(), channel));
        Ok(())
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        _data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)?;
        tokio::spawn(stream_forever(session.handle(), channel));
        Ok(())
    }
}

async fn stream_forever(handle: Handle, channel: ChannelId) {
    // As fast as the client's window allows: it always finds data waiting.
    let chunk = b"Loopback0   10.0.0.1   YES manual up   up\r\n".repeat(1024);
    while handle.data(channel, chunk.clone()).await.is_ok() {}
}

/// The server on a loopback port, on a runtime of its own.
struct Server {
    addr: SocketAddr,
    _runtime: tokio::runtime::Runtime,
}

fn start() -> Server {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let config = Arc::new(russh::server::Config {
        methods: MethodSet::from(&[MethodKind::Password][..]),
        auth_rejection_time: Duration::ZERO,
        auth_rejection_time_initial: Some(Duration::ZERO),
        keys: vec![PrivateKey::from(Ed25519Keypair::from_seed(&[7u8; 32]))],
        nodelay: true,
        ..Default::default()
    });
    let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    runtime.spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let config = config.clone();
            tokio::spawn(async move {
                if let Ok(session) = russh::server::run_stream(config, socket, Streamer).await {
                    let _ = session.await;
                }
            });
        }
    });
    Server {
        addr,
        _runtime: runtime,
    }
}

fn target(server: &Server) -> Target {
    let mut t = Target::new("chatty", "127.0.0.1");
    t.port = server.addr.port();
    t.username = Some("admin".into());
    t.credentials.password = Some(Secret::new("any"));
    t
}

fn job(task: Task, command_timeout: Duration) -> Job {
    let mut job = Job::new(task);
    job.host_keys = HostKeyPolicy::Off;
    job.timeouts.connect = Some(Duration::from_secs(10));
    job.timeouts.auth = Some(Duration::from_secs(10));
    job.timeouts.command = Some(command_timeout);
    job
}

/// Runs the host on the async executor on a thread of its own; `None` if
/// it had not finished within `limit` (the bug: a host that never ends).
fn run_within(
    job: Job,
    target: Target,
    cancel: CancelToken,
    limit: Duration,
) -> Option<HostOutcome> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sink = CollectSink::default();
        let _ = AsyncExecutor::new().run(&job, &[target], &mut sink, &cancel);
        let _ = tx.send(sink.outcomes.pop());
    });
    rx.recv_timeout(limit).ok().flatten()
}

#[test]
fn endless_exec_output_still_times_out_with_the_output_kept() {
    let server = start();
    let job = job(
        Task::Exec {
            command: "show interfaces".into(),
        },
        Duration::from_millis(600),
    );
    let started = Instant::now();
    let o = run_within(
        job,
        target(&server),
        CancelToken::new(),
        Duration::from_secs(20),
    )
    .expect("a streaming device must not hold the host past its command timeout");
    assert_eq!(
        (o.status, o.error_kind, o.phase),
        (
            Status::Timeout,
            Some(ErrorKind::Timeout),
            Some(Phase::Command)
        ),
        "{:?}",
        o.message
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert!(
        o.outputs[0].stdout.contains("Loopback0"),
        "partial output kept"
    );
    assert!(
        o.message
            .as_deref()
            .unwrap_or("")
            .contains("last output seen"),
        "{:?}",
        o.message
    );
}

#[test]
fn endless_shell_output_without_a_prompt_still_times_out() {
    let server = start();
    let job = job(
        Task::Cli {
            commands: vec!["show interfaces".into()],
            mode: CliMode::User,
        },
        Duration::from_millis(600),
    );
    let started = Instant::now();
    let o = run_within(
        job,
        target(&server),
        CancelToken::new(),
        Duration::from_secs(20),
    )
    .expect("a streaming device must not hold the host past its command timeout");
    // Output but never a prompt: the dialog names what it waited for and
    // what it saw instead.
    assert_eq!(
        (o.status, o.error_kind),
        (Status::Failed, Some(ErrorKind::PromptNotFound)),
        "{:?}",
        o.message
    );
    let message = o.message.as_deref().unwrap_or("");
    assert!(
        message.contains("within 600ms") && message.contains("Loopback0"),
        "{message}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn cancel_stops_a_host_whose_device_streams_forever() {
    let server = start();
    for task in [
        Task::Exec {
            command: "show interfaces".into(),
        },
        Task::Cli {
            commands: vec!["show interfaces".into()],
            mode: CliMode::User,
        },
    ] {
        let cancel = CancelToken::new();
        let canceller = {
            let cancel = cancel.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(800));
                cancel.cancel();
                Instant::now()
            })
        };
        let o = run_within(
            job(task, Duration::from_secs(120)),
            target(&server),
            cancel,
            Duration::from_secs(20),
        )
        .expect("Ctrl-C must stop a host whose device never stops sending");
        let late = Instant::now().saturating_duration_since(canceller.join().unwrap());
        assert_eq!(o.status, Status::Cancelled, "{:?}", o.message);
        assert!(
            late < Duration::from_millis(500),
            "stopped {late:?} after the cancel"
        );
    }
}
