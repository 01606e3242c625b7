//! Running one command line: grammar context, `| filter`s, and what each
//! recognised command does.

use std::sync::PoisonError;
use std::time::SystemTime;

use fanout_core::Platform;

use super::config_mode::push_unique;
use super::{
    Block, Console, DeviceConfig, Interface, Mode, NONE, Outcome, Question, Sub, err, out,
};
use crate::profile::{
    self, Act, CX_BLOCK, CX_CONF, CX_FILTER, CX_IF, CX_JCONF, CX_JOP, CX_PRIV, CX_USER, Filter,
    Parsed, RenderCtx,
};
use crate::topology::Site;

impl Console {
    fn ctx(&self) -> u8 {
        match (self.platform, self.mode, &self.sub) {
            (Platform::Junos, Mode::Config, _) => CX_JCONF,
            (Platform::Junos, _, _) => CX_JOP,
            (_, Mode::User, _) => CX_USER,
            (_, Mode::Exec, _) => CX_USER | CX_PRIV,
            (_, Mode::Config, None) => CX_CONF,
            (_, Mode::Config, Some(Sub::Interface(..))) => CX_IF,
            (_, Mode::Config, Some(Sub::Block(..))) => CX_BLOCK,
        }
    }

    fn render_ctx(&self) -> RenderCtx<'_> {
        RenderCtx {
            user: &self.user,
            has_secret: self.secret.is_some(),
            extra: self.extra,
            now: SystemTime::now(),
        }
    }

    pub(super) fn run(&mut self, line: &str) -> Outcome {
        if self.platform == Platform::Linux {
            let r = self.render_ctx();
            let res = profile::linux(
                line,
                &mut self.config.lock().unwrap_or_else(PoisonError::into_inner),
                &r,
            );
            return match res.exit {
                true => Outcome::Close(vec!["logout".into()]),
                false => Outcome::Out {
                    lines: res.lines,
                    status: res.status,
                },
            };
        }
        self.run_in(line, self.ctx(), 0)
    }

    /// Parses `line` (typed `offset` columns after the prompt) in grammar
    /// context `ctx`, with `| filter`s for show commands, and runs it.
    fn run_in(&mut self, line: &str, ctx: u8, offset: usize) -> Outcome {
        let p = self.platform;
        let mut filters: Vec<(Filter, String)> = Vec::new();
        let mut parsed = profile::parse(line, p, ctx);
        if let Some(bar) = line.find('|') {
            let head = profile::parse(&line[..bar], p, ctx);
            if matches!(head, Parsed::Ok { act, .. } if act.is_show()) {
                parsed = head;
                let mut at = bar + 1;
                for seg in line[bar + 1..].split('|') {
                    match profile::parse(seg, p, CX_FILTER).shifted(at) {
                        Parsed::Ok {
                            act: Act::Filter(f),
                            args,
                            ..
                        } => {
                            filters.push((f, args.into_iter().next().unwrap_or_default()));
                        }
                        Parsed::Empty => parsed = Parsed::Incomplete { col: at + 1 },
                        bad => parsed = bad,
                    }
                    at += seg.len() + 1;
                }
            }
        }
        if matches!(parsed, Parsed::Invalid { index: 0, .. }) && ctx & (CX_IF | CX_BLOCK) != 0 {
            let global = profile::parse(line, p, CX_CONF);
            if matches!(global, Parsed::Ok { .. }) {
                self.sub = None;
                parsed = global;
            }
        }
        if matches!(parsed, Parsed::Invalid { index: 0, .. })
            && ctx & (CX_CONF | CX_IF | CX_BLOCK) != 0
            && matches!(p, Platform::Nxos | Platform::Eos)
        {
            let show = profile::parse(line, p, CX_USER | CX_PRIV);
            if matches!(show, Parsed::Ok { act, .. } if act.is_show()) {
                parsed = show;
            }
        }
        let (act, args, canon) = match parsed {
            Parsed::Ok { act, args, canon } => (act, args, canon),
            Parsed::Empty => return out(NONE),
            bad => {
                let plen = self.prompt().chars().count();
                return err(profile::error_lines(p, &bad.shifted(offset), line, plen));
            }
        };
        let set_form = filters.iter().any(|f| f.0 == Filter::DisplaySet);
        self.no_more |= filters.iter().any(|f| f.0 == Filter::NoMore);
        let rest_col = |a: &str| offset + line.trim_end().len() - a.len();
        let outcome = self.act(
            act,
            &args,
            &canon,
            set_form,
            rest_col(args.last().map_or("", String::as_str)),
        );
        match outcome {
            Outcome::Out { mut lines, status } if act.is_show() => {
                lines = profile::apply_filters(p, lines, &filters);
                if p == Platform::Iosxr && self.xr_stamp {
                    lines.insert(0, profile::utc(SystemTime::now()).xr_stamp());
                }
                Outcome::Out { lines, status }
            }
            other => other,
        }
    }

    fn act(
        &mut self,
        act: Act,
        a: &[String],
        canon: &str,
        set_form: bool,
        rest_col: usize,
    ) -> Outcome {
        let p = self.platform;
        let arg = |i: usize| a.get(i).map_or("", String::as_str);
        if self.exec_only && matches!(act, Act::ConfigTerminal | Act::ConfigAsk | Act::Configure) {
            let plen = self.prompt().chars().count();
            let bad = Parsed::Invalid { col: 0, index: 0 };
            return err(profile::error_lines(p, &bad, canon, plen));
        }
        match act {
            Act::Nothing | Act::TermWidth | Act::Filter(_) => out(NONE),
            Act::XrStamp => {
                self.xr_stamp = !canon.ends_with("no-timestamp");
                out(NONE)
            }
            Act::Enable if self.mode == Mode::User => {
                if self.secret.is_some() {
                    return Outcome::Password;
                }
                self.mode = Mode::Exec;
                out(NONE)
            }
            Act::Enable => out(NONE),
            Act::Disable => {
                self.mode = Mode::User;
                out(NONE)
            }
            Act::Exit => Outcome::Close(Vec::new()),
            Act::TermLength => {
                self.page = arg(0).parse().unwrap_or(0);
                out(NONE)
            }
            Act::CliLength => {
                self.page = arg(0).parse().unwrap_or(0);
                out([format!("Screen length set to {}", self.page)])
            }
            Act::CliWidth => out([format!("Screen width set to {}", arg(0))]),
            Act::CliSpace => match arg(0) {
                "on" => out(["Enabling complete-on-space"]),
                "off" => out(["Disabling complete-on-space"]),
                _ => self.junos_error(rest_col, "syntax error, expecting <command>."),
            },
            Act::ShowVersion => out(self.render(|c, r| profile::show_version(p, c, r))),
            Act::ShowClock => out(self.render(|c, r| profile::show_clock(p, c, r))),
            Act::ShowIpIntBrief => out(self.render(|c, r| profile::ip_brief(p, c, r.extra))),
            Act::ShowIntDesc => out(self.render(|c, r| profile::int_desc(p, c, r.extra))),
            Act::ShowPrivilege => {
                out([format!("Current privilege level is {}", if self.mode == Mode::User { 1 } else { 15 })])
            }
            Act::ShowArp => {
                let (n, i) = (self.neighbors(), self.site_index());
                out(self.render(|c, _| profile::arp(p, c, i, &n)))
            }
            Act::ShowCdp => out(profile::cdp(p, &self.neighbors())),
            Act::ShowCdpDetail => out(profile::cdp_detail(p, &self.neighbors())),
            Act::ShowLldp => out(profile::lldp(p, &self.neighbors())),
            Act::ShowMemStats => {
                let i = self.site_index();
                out(self.render(|c, _| profile::memory_statistics(p, c, i)))
            }
            Act::ShowProcMem => {
                let i = self.site_index();
                out(self.render(|c, _| profile::processes_memory(p, c, i)))
            }
            Act::ShowRun => out(self.render(|c, r| profile::running_config(p, c, r))),
            Act::JShowConfig => out(self.render(|c, r| profile::junos_config(c, r, arg(0), set_form, "Last commit"))),
            Act::JShow => {
                let path = [self.edit.join(" "), arg(0).to_string()].join(" ");
                let r = self.render_ctx();
                let lines = match &self.candidate {
                    Some(c) => profile::junos_config(c, &r, &path, set_form, "Last changed"),
                    None => Vec::new(),
                };
                out(lines)
            }
            Act::ConfigTerminal | Act::Configure => self.enter_config(canon.ends_with("private")),
            Act::ConfigAsk => {
                Outcome::Ask(Question::ConfigureFrom, "Configuring from terminal, memory, or network [terminal]? ".into())
            }
            Act::CopyRunStart => match p {
                Platform::Nxos => out(["[########################################] 100%", "Copy complete."]),
                Platform::Eos => out(["Copy completed successfully."]),
                _ => Outcome::Ask(Question::CopyDestination, "Destination filename [startup-config]? ".into()),
            },
            Act::WriteMemory if p == Platform::Eos => out(["Copy completed successfully."]),
            Act::WriteMemory => out(["Building configuration...", "[OK]"]),
            Act::Ping => match profile::ping(p, arg(0)) {
                Ok(lines) => out(lines),
                Err(lines) => err(lines),
            },
            Act::Connect => {
                let host = arg(0).split_whitespace().next().unwrap_or("");
                err([format!("Trying {host} ..."), "% Connection refused by remote host".into(), String::new()])
            }
            Act::Hostname if !profile::valid_hostname(arg(0)) => {
                err(["% Hostname contains one or more illegal characters."])
            }
            Act::Hostname => {
                let name = arg(0).to_string();
                self.edit_config(|c| c.hostname = name);
                out(NONE)
            }
            Act::Interface => {
                let name = profile::normalize_iface(p, arg(0)).unwrap_or_else(|| arg(0).to_string());
                if !self.read(|c| c.interfaces.iter().any(|i| i.name == name)) {
                    let new = Interface {
                        name: name.clone(),
                        description: None,
                        address: None,
                        shutdown: false,
                        manual: false,
                        lines: Vec::new(),
                    };
                    self.edit_config(|c| c.interfaces.push(new));
                }
                self.sub = Some(Sub::Interface(name.clone(), profile::if_label(p, &name)));
                out(NONE)
            }
            Act::Block => {
                let header = canon.split_whitespace().collect::<Vec<_>>().join(" ");
                if !self.read(|c| c.blocks.iter().any(|b| b.header == header)) {
                    let new = Block { header: header.clone(), lines: Vec::new() };
                    self.edit_config(|c| c.blocks.push(new));
                }
                self.sub = Some(Sub::Block(header.clone(), profile::block_label(p, &header)));
                out(NONE)
            }
            Act::No => self.no(arg(0)),
            Act::Do => self.run_in(arg(0), CX_USER | CX_PRIV, rest_col),
            Act::JRun => self.run_in(arg(0), CX_JOP, rest_col),
            Act::End => self.end_config(),
            Act::ExitConf if self.sub.is_some() => {
                self.sub = None;
                out(NONE)
            }
            Act::ExitConf => self.end_config(),
            Act::Commit => {
                self.commit();
                out(NONE)
            }
            Act::Abort => {
                self.leave_config();
                out(NONE)
            }
            Act::GlobalLine => {
                let line = canon.to_string();
                self.edit_config(|c| push_unique(&mut c.lines, line));
                out(NONE)
            }
            Act::IfDescription => self.iface(|i| i.description = Some(arg(0).to_string())),
            Act::IfAddress => match profile::parse_address(a) {
                Ok(addr) => self.iface(|i| {
                    i.address = Some(addr);
                    i.manual = true;
                }),
                Err(msg) => err([msg]),
            },
            Act::IfShutdown => self.iface(|i| i.shutdown = true),
            Act::IfLine => self.iface(|i| push_unique(&mut i.lines, canon.to_string())),
            Act::BlockLine => {
                if let Some(Sub::Block(h, _)) = self.sub.clone() {
                    let line = canon.to_string();
                    self.edit_config(|c| {
                        if let Some(b) = c.blocks.iter_mut().find(|b| b.header == h) {
                            push_unique(&mut b.lines, line);
                        }
                    });
                }
                out(NONE)
            }
            Act::JSet | Act::JDelete | Act::JEdit => self.junos_statement(act, arg(0), rest_col),
            Act::JUp => {
                self.edit.pop();
                out(NONE)
            }
            Act::JTop => {
                self.edit.clear();
                out(NONE)
            }
            Act::JExit if !self.edit.is_empty() => {
                self.edit.pop();
                out(NONE)
            }
            Act::JExit | Act::JExitAll if self.dirty => Outcome::Ask(
                Question::JunosExit,
                "The configuration has been changed but not committed\r\nExit with uncommitted changes? [yes,no] (yes) "
                    .into(),
            ),
            Act::JExit | Act::JExitAll => {
                self.leave_config();
                out(["Exiting configuration mode"])
            }
            Act::JCommit => {
                self.commit();
                out(["commit complete"])
            }
            Act::JCommitQuit => {
                self.commit();
                self.leave_config();
                out(["commit complete", "Exiting configuration mode"])
            }
            Act::JCommitCheck => out(["configuration check succeeds"]),
            Act::JRollback => {
                let running = self.lock().clone();
            self.candidate = Some(running);
                self.dirty = false;
                out(["load complete"])
            }
        }
    }

    /// The device's neighbours now (none outside a fleet).
    fn neighbors(&self) -> Vec<profile::Neighbor> {
        self.site.as_ref().map_or_else(Vec::new, Site::neighbors)
    }

    /// The device's place in the fleet (0 outside one).
    fn site_index(&self) -> u32 {
        self.site.as_ref().map_or(0, |s| s.index)
    }

    fn render(&self, f: impl FnOnce(&DeviceConfig, &RenderCtx<'_>) -> Vec<String>) -> Vec<String> {
        let r = self.render_ctx();
        f(&self.lock(), &r)
    }

    /// Reads the configuration being edited (candidate, else running).
    fn read<R>(&self, f: impl FnOnce(&DeviceConfig) -> R) -> R {
        match &self.candidate {
            Some(c) => f(c),
            None => f(&self.lock()),
        }
    }
}
