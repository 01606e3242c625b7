//! A load generator for a simulated fleet (a russh client), used to measure
//! what the fleet sustains. Not part of fanout's executors.
//!
//! ```text
//! fanout sim serve -n 1000 --inventory-out /tmp/f.yaml &
//! cargo run --release -p fanout-sim --example sim_loadgen -- handshakes /tmp/f_known_hosts 2000 100
//! cargo run --release -p fanout-sim --example sim_loadgen -- hold /tmp/f_known_hosts 5000 200
//! ```
//!
//! `handshakes KNOWN_HOSTS N C`: N logins (password) + `exec show version`,
//! C at a time, round-robin over the devices; prints handshakes/s and the
//! client's CPU. `hold KNOWN_HOSTS N C`: opens N sessions with an
//! interactive shell each, keeps them open until Enter is pressed (or 30 s
//! if stdin is not a terminal), so the fleet's RSS per open session can be
//! read.

use std::sync::Arc;
use std::time::{Duration, Instant};

use russh::client::{self, Handle};
use russh::keys::{PublicKey, PublicKeyOrCertificate};
use russh::{ChannelMsg, Disconnect};
use tokio::sync::Semaphore;

struct Client {
    expected: PublicKey,
}

impl client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        // Verified against the fleet's known_hosts, never blindly accepted.
        Ok(
            matches!(key, PublicKeyOrCertificate::PublicKey { key, .. } if key.key_data() == self.expected.key_data()),
        )
    }
}

fn parse_known_hosts(path: &str) -> Vec<(String, u16, PublicKey)> {
    let text = std::fs::read_to_string(path).expect("read known_hosts");
    text.lines()
        .filter_map(|line| {
            let (host, key) = line.split_once(' ')?;
            let (addr, port) = host.strip_prefix('[')?.split_once("]:")?;
            Some((
                addr.to_string(),
                port.parse().ok()?,
                PublicKey::from_openssh(key).ok()?,
            ))
        })
        .collect()
}

async fn login(
    device: &(String, u16, PublicKey),
    config: Arc<client::Config>,
) -> Result<Handle<Client>, String> {
    let (addr, port, key) = device;
    let mut h = client::connect(
        config,
        (addr.as_str(), *port),
        Client {
            expected: key.clone(),
        },
    )
    .await
    .map_err(|e| format!("connect {addr}:{port}: {e}"))?;
    let ok = h
        .authenticate_password("cisco", "cisco")
        .await
        .map_err(|e| e.to_string())?;
    if !ok.success() {
        return Err(format!("auth rejected by {addr}:{port}"));
    }
    Ok(h)
}

async fn exec_once(
    device: &(String, u16, PublicKey),
    config: Arc<client::Config>,
) -> Result<usize, String> {
    let h = login(device, config).await?;
    let mut ch = h.channel_open_session().await.map_err(|e| e.to_string())?;
    ch.exec(true, "show version")
        .await
        .map_err(|e| e.to_string())?;
    let mut bytes = 0;
    while let Some(msg) = ch.wait().await {
        match msg {
            ChannelMsg::Data { data } => bytes += data.len(),
            ChannelMsg::Eof | ChannelMsg::Close => break,
            _ => {}
        }
    }
    let _ = h.disconnect(Disconnect::ByApplication, "", "en").await;
    Ok(bytes)
}

fn cpu_seconds() -> f64 {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage fills the struct we own.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 {
        eprintln!("usage: sim_loadgen handshakes|hold KNOWN_HOSTS N C");
        std::process::exit(2);
    }
    fanout_sim::raise_fd_limit(200_000);
    let devices = Arc::new(parse_known_hosts(&args[2]));
    let n: usize = args[3].parse().expect("N");
    let c: usize = args[4].parse().expect("C");
    let config = Arc::new(client::Config {
        nodelay: true,
        ..Default::default()
    });
    let gate = Arc::new(Semaphore::new(c));
    let start = Instant::now();
    let cpu0 = cpu_seconds();
    let mut tasks = tokio::task::JoinSet::new();
    let hold = args[1] == "hold";
    for i in 0..n {
        let permit = gate.clone().acquire_owned().await.expect("semaphore");
        let (devices, config) = (devices.clone(), config.clone());
        tasks.spawn(async move {
            let device = &devices[i % devices.len()];
            if hold {
                match login(device, config).await {
                    Ok(h) => {
                        let ch = h.channel_open_session().await.map_err(|e| e.to_string());
                        drop(permit);
                        match ch {
                            Ok(ch) => {
                                let _ = ch.request_shell(true).await;
                                Ok::<_, String>(Some((h, ch)))
                            }
                            Err(e) => Err(e),
                        }
                    }
                    Err(e) => Err(e),
                }
            } else {
                let r = exec_once(device, config).await.map(|_| None);
                drop(permit);
                r
            }
        });
    }
    let mut ok = 0;
    let mut held = Vec::new();
    let mut first_error = None;
    while let Some(joined) = tasks.join_next().await {
        match joined.expect("task") {
            Ok(Some(session)) => {
                ok += 1;
                held.push(session);
            }
            Ok(None) => ok += 1,
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    let wall = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    println!(
        "{}: {ok}/{n} ok in {wall:.2} s = {:.0}/s at {c} in flight; client CPU {cpu:.2} s ({:.2} ms per session)",
        args[1],
        ok as f64 / wall,
        cpu * 1e3 / n as f64
    );
    if let Some(e) = first_error {
        println!("first error: {e}");
    }
    if hold {
        println!(
            "holding {} sessions; press Enter (or wait 30 s) to close",
            held.len()
        );
        let wait = tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            let _ = std::io::stdin().read_line(&mut line);
        });
        let _ = tokio::time::timeout(Duration::from_secs(30), wait).await;
    }
}
