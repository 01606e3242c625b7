//! The Linux profile's shell: a small bash (echo, hostname, uname, ip -br
//! address, ...).

use fanout_core::Platform;

use super::RenderCtx;
use super::clock::utc;
use super::junos::shell_words;
use super::prompt::valid_hostname;
use super::show::ip_brief;
use crate::console::DeviceConfig;

/// The result of one Linux shell command.
pub(crate) struct ShellResult {
    pub(crate) lines: Vec<String>,
    pub(crate) status: u32,
    pub(crate) exit: bool,
}

/// Runs one Linux shell command line (a small bash).
pub(crate) fn linux(line: &str, cfg: &mut DeviceConfig, r: &RenderCtx<'_>) -> ShellResult {
    let w = shell_words(line);
    let ok = |lines: Vec<String>| ShellResult {
        lines,
        status: 0,
        exit: false,
    };
    let fail = |lines: Vec<String>, status: u32| ShellResult {
        lines,
        status,
        exit: false,
    };
    let host = cfg.hostname.clone();
    let now = utc(r.now);
    let kernel = "6.8.0-48-generic";
    let args: Vec<&str> = w.iter().skip(1).map(String::as_str).collect();
    let Some(cmd) = w.first() else {
        return ok(Vec::new());
    };
    match (cmd.as_str(), args.as_slice()) {
        ("exit" | "logout", _) => ShellResult {
            lines: Vec::new(),
            status: 0,
            exit: true,
        },
        ("echo", a) => ok(vec![a.join(" ")]),
        ("true" | "cd" | ":", _) => ok(Vec::new()),
        ("false", _) => fail(Vec::new(), 1),
        ("hostname", []) => ok(vec![host]),
        ("hostname", [name]) if r.user == "root" && valid_hostname(name) => {
            cfg.hostname = name.to_string();
            cfg.last_change = Some(r.now);
            ok(Vec::new())
        }
        ("hostname", _) => fail(
            vec!["hostname: you must be root to change the host name".into()],
            1,
        ),
        ("whoami", _) => ok(vec![r.user.to_string()]),
        ("pwd", _) => ok(vec![if r.user == "root" {
            "/root".into()
        } else {
            format!("/home/{}", r.user)
        }]),
        ("id", _) => ok(vec![format!(
            "uid=1000({u}) gid=1000({u}) groups=1000({u}),27(sudo)",
            u = r.user
        )]),
        ("date", _) => ok(vec![format!(
            "{} {} {:>2} {} UTC {}",
            now.dow(),
            now.mon(),
            now.day,
            now.hms(),
            now.year
        )]),
        ("uptime", _) => {
            let up = r.uptime(cfg).as_secs();
            ok(vec![format!(
                " {} up {} days, {:2}:{:02},  1 user,  load average: 0.08, 0.03, 0.01",
                now.hms(),
                up / 86_400,
                up / 3600 % 24,
                up / 60 % 60
            )])
        }
        ("uname", a) => {
            let full = format!(
                "Linux {host} {kernel} #48-Ubuntu SMP PREEMPT_DYNAMIC Fri Sep 27 14:04:52 UTC 2024 x86_64 x86_64 x86_64 GNU/Linux"
            );
            match a {
                [] | ["-s"] => ok(vec!["Linux".into()]),
                ["-a"] => ok(vec![full]),
                ["-n"] => ok(vec![host]),
                ["-r"] => ok(vec![kernel.into()]),
                ["-m"] => ok(vec!["x86_64".into()]),
                [bad, ..] => fail(
                    vec![
                        format!("uname: invalid option -- '{}'", bad.trim_start_matches('-')),
                        "Try 'uname --help' for more information.".into(),
                    ],
                    1,
                ),
            }
        }
        ("cat", ["/etc/hostname"]) => ok(vec![host]),
        ("cat", [f, ..]) => fail(vec![format!("cat: {f}: No such file or directory")], 1),
        ("ip", a) if a.iter().any(|x| x.starts_with("-br")) => {
            ok(ip_brief(Platform::Linux, cfg, r.extra))
        }
        ("ls", _) => ok(Vec::new()),
        (c, _) => fail(vec![format!("bash: {c}: command not found")], 127),
    }
}
