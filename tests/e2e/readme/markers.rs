//! Reading the README: its fenced blocks, the `<!-- readme-test: ... -->`
//! markers above them, the commands they hold and the output lines shown
//! under `$ ` commands, and what the test does with each command.

/// A marker above a block.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Directive {
    /// Commands starting with this are not run.
    Skip(String),
    /// Substring replacement in every command of the block.
    Replace(String, String),
    /// This exact command runs as the other one.
    RunAs(String, String),
    /// Commands starting with this exit with this code.
    Exit(i32, String),
    /// Expected lines starting with this match any line starting with it.
    Loose(String),
    /// The output lines shown may come in any order (several processes,
    /// threads or tasks print at once): each must be printed, not in order.
    AnyOrder,
    /// The whole block is not run.
    NotRun,
}

/// A fenced block with the markers above it.
#[derive(Debug)]
struct Block {
    /// 1-based line of the opening fence.
    line: usize,
    lang: String,
    lines: Vec<String>,
    directives: Vec<(usize, Directive)>,
}

/// The backticked parts of `text`, in order.
fn quoted(text: &str) -> Vec<String> {
    text.split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, s)| s.to_string())
        .collect()
}

fn parse_directive(line: usize, text: &str) -> Result<Directive, String> {
    let q = quoted(text);
    let word = text.split_whitespace().next().unwrap_or("");
    let bad = || format!("README.md:{line}: cannot read the readme-test marker `{text}`");
    Ok(match (word, q.as_slice()) {
        ("skip", [prefix]) => Directive::Skip(prefix.clone()),
        ("replace", [from, to]) if text.contains("` with `") => {
            Directive::Replace(from.clone(), to.clone())
        }
        ("run", [from, to]) if text.contains("` as `") => {
            Directive::RunAs(from.clone(), to.clone())
        }
        ("exit", [prefix]) => {
            let code = text
                .split_whitespace()
                .nth(1)
                .and_then(|c| c.parse().ok())
                .ok_or_else(bad)?;
            Directive::Exit(code, prefix.clone())
        }
        ("loose", [prefix]) => Directive::Loose(prefix.clone()),
        ("not-run", _) => Directive::NotRun,
        ("any-order", []) => Directive::AnyOrder,
        _ => return Err(bad()),
    })
}

/// Every fenced block of `markdown`, with its markers.
fn parse_blocks(markdown: &str) -> Result<Vec<Block>, String> {
    let mut blocks = Vec::new();
    let mut pending: Vec<(usize, Directive)> = Vec::new();
    let mut lines = markdown.lines().enumerate();
    while let Some((i, line)) = lines.next() {
        let trimmed = line.trim();
        if let Some(rest) = trimmed.strip_prefix("<!-- readme-test:") {
            let body = rest.strip_suffix("-->").ok_or_else(|| {
                format!(
                    "README.md:{}: a readme-test marker ends with `-->` on its line",
                    i + 1
                )
            })?;
            pending.push((i + 1, parse_directive(i + 1, body.trim())?));
            continue;
        }
        if let Some(lang) = trimmed.strip_prefix("```") {
            let mut body = Vec::new();
            let mut closed = false;
            for (_, l) in lines.by_ref() {
                if l.trim_start().starts_with("```") {
                    closed = true;
                    break;
                }
                body.push(l.to_string());
            }
            if !closed {
                return Err(format!("README.md:{}: the ``` block is not closed", i + 1));
            }
            blocks.push(Block {
                line: i + 1,
                lang: lang.trim().to_string(),
                lines: body,
                directives: std::mem::take(&mut pending),
            });
            continue;
        }
        if !trimmed.is_empty()
            && let Some((at, _)) = pending.first()
        {
            return Err(format!(
                "README.md:{at}: a readme-test marker must be right above a ``` block (text follows it at line {})",
                i + 1
            ));
        }
    }
    if let Some((at, _)) = pending.first() {
        return Err(format!(
            "README.md:{at}: a readme-test marker with no block below it"
        ));
    }
    Ok(blocks)
}

/// `cmd # comment` without the comment (a `#` outside quotes after a space).
fn strip_comment(cmd: &str) -> &str {
    let (mut single, mut double) = (false, false);
    let mut prev = ' ';
    for (i, c) in cmd.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '#' if !single && !double && prev.is_whitespace() => return cmd[..i].trim_end(),
            _ => {}
        }
        prev = c;
    }
    cmd.trim_end()
}

/// One command of a block and the output lines the README shows for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Step {
    pub(super) line: usize,
    pub(super) command: String,
    pub(super) expected: Vec<String>,
}

/// The commands of a `sh` block (every non-comment line) or a `console`
/// block (`$ ` lines, followed by their output); `\` continues a line.
fn steps(block: &Block) -> Vec<Step> {
    let console = block.lang == "console";
    let mut steps: Vec<Step> = Vec::new();
    let mut continuing = false;
    for (k, raw) in block.lines.iter().enumerate() {
        let line = block.line + 1 + k;
        if continuing {
            let step = steps.last_mut().expect("a continued command");
            let text = raw.trim();
            continuing = text.ends_with('\\');
            step.command.push(' ');
            step.command.push_str(text.trim_end_matches('\\').trim());
            continue;
        }
        let text = if console {
            match raw.strip_prefix("$ ") {
                Some(cmd) => cmd,
                None => {
                    if let Some(step) = steps.last_mut()
                        && !raw.trim().is_empty()
                    {
                        step.expected.push(raw.clone());
                    }
                    continue;
                }
            }
        } else {
            raw.as_str()
        };
        let text = text.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        continuing = text.ends_with('\\');
        steps.push(Step {
            line,
            command: text.trim_end_matches('\\').trim().to_string(),
            expected: Vec::new(),
        });
    }
    for step in &mut steps {
        step.command = strip_comment(&step.command).to_string();
    }
    steps
}

/// What the test does with one command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Action {
    /// Run it and check its exit code and output.
    Run {
        step: Step,
        exit: i32,
        loose: Vec<String>,
        any_order: bool,
    },
    /// Start it in the background; it writes this inventory.
    Serve { step: Step, inventory: String },
    /// Set these variables for the commands after it.
    Export(Vec<(String, String)>),
    /// Nothing to do (`alias fanout=...`, skipped commands).
    Nothing,
}

/// Whether `cmd` is `prefix` or starts with `prefix` and a space.
fn starts_with_word(cmd: &str, prefix: &str) -> bool {
    cmd == prefix || cmd.starts_with(&format!("{prefix} "))
}

/// The actions of every block of `markdown`, or every reason it cannot be run.
pub(super) fn plan(markdown: &str) -> Result<Vec<Action>, Vec<String>> {
    let blocks = parse_blocks(markdown).map_err(|e| vec![e])?;
    let mut actions = Vec::new();
    let mut errors = Vec::new();
    for block in &blocks {
        let not_run = block
            .directives
            .iter()
            .any(|(_, d)| *d == Directive::NotRun);
        let runnable = matches!(block.lang.as_str(), "sh" | "bash" | "shell" | "console");
        if !runnable {
            let looks_like_commands = block.lines.iter().any(|l| {
                let t = l.trim_start();
                t.starts_with("$ ") || t.starts_with("fanout ")
            });
            if looks_like_commands && !not_run {
                errors.push(format!(
                    "README.md:{}: this ```{} block looks like commands: make it ```sh or ```console (then it is run) or mark it <!-- readme-test: not-run (why) -->",
                    block.line, block.lang
                ));
            }
            continue;
        }
        if not_run {
            continue;
        }
        let mut used = vec![false; block.directives.len()];
        for step in steps(block) {
            let mut cmd = step.command.clone();
            for (k, (_, d)) in block.directives.iter().enumerate() {
                if let Directive::RunAs(from, to) = d
                    && cmd == *from
                {
                    cmd = to.clone();
                    used[k] = true;
                }
            }
            for (k, (_, d)) in block.directives.iter().enumerate() {
                if let Directive::Replace(from, to) = d
                    && cmd.contains(from.as_str())
                {
                    cmd = cmd.replace(from.as_str(), to);
                    used[k] = true;
                }
            }
            let skip = block
                .directives
                .iter()
                .enumerate()
                .find_map(|(k, (_, d))| match d {
                    Directive::Skip(prefix) if starts_with_word(&step.command, prefix) => Some(k),
                    _ => None,
                });
            if let Some(k) = skip {
                used[k] = true;
                actions.push(Action::Nothing);
                continue;
            }
            for prefix in ["cargo run --release -- ", "target/release/fanout "] {
                if let Some(rest) = cmd.strip_prefix(prefix) {
                    cmd = format!("fanout {rest}");
                }
            }
            if let Some(rest) = cmd.strip_prefix("cargo run --release --example ") {
                cmd = format!("fanout-example {rest}");
            }
            let step = Step {
                command: cmd.clone(),
                ..step
            };
            if cmd.starts_with("alias fanout=") {
                actions.push(Action::Nothing);
            } else if let Some(vars) = cmd.strip_prefix("export ") {
                actions.push(Action::Export(
                    vars.split_whitespace()
                        .filter_map(|kv| kv.split_once('='))
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                ));
            } else if starts_with_word(&cmd, "fanout sim serve") {
                let words: Vec<&str> = cmd.split_whitespace().collect();
                match words.iter().position(|w| *w == "--inventory-out") {
                    Some(i) if i + 1 < words.len() => actions.push(Action::Serve {
                        inventory: words[i + 1].to_string(),
                        step,
                    }),
                    _ => errors.push(format!(
                        "README.md:{}: `{cmd}` serves a fleet without --inventory-out, so nothing after it can use it",
                        step.line
                    )),
                }
            } else if cmd.split_whitespace().any(|w| w == "fanout")
                || starts_with_word(&cmd, "fanout-example")
            {
                let mut exit = 0;
                let mut loose = Vec::new();
                let mut any_order = false;
                for (k, (_, d)) in block.directives.iter().enumerate() {
                    match d {
                        Directive::AnyOrder => {
                            any_order = true;
                            used[k] = true;
                        }
                        Directive::Exit(code, prefix) if starts_with_word(&cmd, prefix) => {
                            exit = *code;
                            used[k] = true;
                        }
                        Directive::Loose(prefix) => {
                            if step.expected.iter().any(|l| l.starts_with(prefix.as_str())) {
                                used[k] = true;
                            }
                            loose.push(prefix.clone());
                        }
                        _ => {}
                    }
                }
                actions.push(Action::Run {
                    step,
                    exit,
                    loose,
                    any_order,
                });
            } else {
                errors.push(format!(
                    "README.md:{}: `{cmd}` is not a fanout command, so this test cannot run it: mark it <!-- readme-test: skip `{}` (why) --> above its block",
                    step.line,
                    cmd.split_whitespace().next().unwrap_or("")
                ));
            }
        }
        for (k, (line, d)) in block.directives.iter().enumerate() {
            if !used[k] {
                errors.push(format!(
                    "README.md:{line}: the marker {d:?} matches no command of the block below it; remove or fix it"
                ));
            }
        }
    }
    if errors.is_empty() {
        Ok(actions)
    } else {
        Err(errors)
    }
}

/// A line with its numbers (and their units) replaced by `#`, weekday and
/// month names by `Day` and `Mon` (a device's clock prints today's date),
/// and its spaces collapsed: measured figures differ from run to run.
fn normalize(line: &str) -> String {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let dated: Vec<&str> = line
        .split(' ')
        .map(|w| {
            if DAYS.contains(&w) {
                "Day"
            } else if MONTHS.contains(&w) {
                "Mon"
            } else {
                w
            }
        })
        .collect();
    let line = dated.join(" ");
    const UNITS: [&str; 14] = [
        "ms", "µs", "us", "ns", "min", "MiB", "GiB", "KiB", "s", "m", "h", "B", "x", "%",
    ];
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        while i < chars.len()
            && (chars[i].is_ascii_digit()
                || (matches!(chars[i], '.' | ',')
                    && chars.get(i + 1).is_some_and(char::is_ascii_digit)))
        {
            i += 1;
        }
        let rest: String = chars[i..].iter().collect();
        let after_space = rest.strip_prefix(' ').unwrap_or(&rest);
        for candidate in [rest.as_str(), after_space] {
            if let Some(unit) = UNITS.iter().find(|u| {
                candidate.starts_with(**u)
                    && !candidate[u.len()..]
                        .chars()
                        .next()
                        .is_some_and(char::is_alphanumeric)
            }) {
                i += rest.len() - candidate.len();
                i += unit.chars().count();
                break;
            }
        }
        out.push('#');
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The expected lines missing from `output`, which must hold them in
/// order, or (`any_order`) each once, anywhere.
pub(super) fn missing_lines(
    expected: &[String],
    output: &str,
    loose: &[String],
    any_order: bool,
) -> Vec<String> {
    let mut actual: Vec<String> = output.lines().map(normalize).collect();
    if any_order {
        let mut missing = Vec::new();
        for want in expected {
            let prefix = loose.iter().find(|p| want.starts_with(p.as_str()));
            let wanted = normalize(want);
            let found = actual.iter().position(|got| match prefix {
                Some(p) => got.starts_with(&normalize(p)),
                None => *got == wanted,
            });
            match found {
                // Each printed line answers one expected line.
                Some(k) => {
                    actual.remove(k);
                }
                None => missing.push(want.clone()),
            }
        }
        return missing;
    }
    let mut at = 0;
    let mut missing = Vec::new();
    for want in expected {
        let prefix = loose.iter().find(|p| want.starts_with(p.as_str()));
        let wanted = normalize(want);
        let found = actual[at..].iter().position(|got| match prefix {
            Some(p) => got.starts_with(&normalize(p)),
            None => *got == wanted,
        });
        match found {
            Some(k) => at += k + 1,
            None => missing.push(want.clone()),
        }
    }
    missing
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_compare_by_shape() {
        assert_eq!(
            normalize("r1: *14:07:07.899 UTC Tue Dec 1 2026"),
            normalize("r1: *00:05:34.700 UTC Wed Jan 2 2027")
        );
        assert_ne!(normalize("Monday"), normalize("Tuesday"));
    }

    #[test]
    fn markers_adapt_blocks_and_unmarked_commands_fail() {
        let md = "\
intro
<!-- readme-test: replace `sleep 1s` with `sleep 1ms` -->
<!-- readme-test: skip `cargo build` (the test has its binary) -->

```sh
cargo build --release
alias fanout=target/release/fanout
export LAB_PW=cisco
fanout run --synthetic 3 sleep 1s   # ~3 s
fanout sim serve -n 5 \\
    --inventory-out fleet.yaml
```

<!-- readme-test: exit 2 `fanout run -i nosuch.yaml` -->
<!-- readme-test: loose `recommendation: ` -->
```console
$ fanout run -i nosuch.yaml sleep 1ms
error: nosuch.yaml: cannot be read
$ target/release/fanout compare
recommendation: async: whatever the run says
```
";
        let actions = plan(md).unwrap();
        assert_eq!(actions.len(), 7, "{actions:#?}");
        assert_eq!(actions[0], Action::Nothing);
        assert_eq!(actions[1], Action::Nothing);
        assert_eq!(
            actions[2],
            Action::Export(vec![("LAB_PW".into(), "cisco".into())])
        );
        let Action::Run { step, exit: 0, .. } = &actions[3] else {
            panic!("{:?}", actions[3])
        };
        assert_eq!(step.command, "fanout run --synthetic 3 sleep 1ms");
        let Action::Serve { step, inventory } = &actions[4] else {
            panic!("{:?}", actions[4])
        };
        assert_eq!(
            (step.command.as_str(), inventory.as_str()),
            (
                "fanout sim serve -n 5 --inventory-out fleet.yaml",
                "fleet.yaml"
            )
        );
        let Action::Run { step, exit: 2, .. } = &actions[5] else {
            panic!("{:?}", actions[5])
        };
        assert_eq!(step.expected, ["error: nosuch.yaml: cannot be read"]);
        let Action::Run { step, loose, .. } = &actions[6] else {
            panic!("{:?}", actions[6])
        };
        assert_eq!(step.command, "fanout compare");
        assert_eq!(
            missing_lines(
                &step.expected,
                "table\nrecommendation: threads: other\n",
                loose,
                false
            ),
            Vec::<String>::new()
        );
        assert_eq!(
            missing_lines(&step.expected, "table\n", loose, false).len(),
            1
        );

        // any-order: the lines shown must each be printed, in any order;
        // the guide's `cargo run --release --example` runs the example.
        let md = "<!-- readme-test: any-order -->\n```console\n$ cargo run --release --example threading_1\nWorker zero\nWorker one\n```\n";
        let actions = plan(md).unwrap();
        let Action::Run {
            step, any_order, ..
        } = &actions[0]
        else {
            panic!("{:?}", actions[0])
        };
        assert_eq!(step.command, "fanout-example threading_1");
        assert!(*any_order);
        let shuffled = "Worker one\nWorker zero\n";
        assert!(missing_lines(&step.expected, shuffled, &[], true).is_empty());
        assert_eq!(missing_lines(&step.expected, shuffled, &[], false).len(), 1);
        assert_eq!(
            missing_lines(&step.expected, "Worker one\nWorker one\n", &[], true),
            ["Worker zero"],
            "each printed line answers one shown line"
        );

        // Not a fanout command, a plain block of commands, a stale marker:
        // each fails until it is marked or fixed.
        let errors = plan("```sh\nssh -p 22 r1\n```\n").unwrap_err();
        assert!(
            errors[0].contains("README.md:2: `ssh -p 22 r1` is not a fanout command"),
            "{errors:?}"
        );
        assert!(errors[0].contains("readme-test: skip `ssh`"), "{errors:?}");
        let errors = plan("```\n$ fanout run x\n```\n").unwrap_err();
        assert!(errors[0].contains("looks like commands"), "{errors:?}");
        assert!(
            plan("<!-- readme-test: not-run (a synopsis) -->\n```\nfanout run [-c N]\n```\n")
                .is_ok()
        );
        let errors =
            plan("<!-- readme-test: replace `zzz` with `b` -->\n```sh\nfanout run x\n```\n")
                .unwrap_err();
        assert!(
            errors[0].contains("README.md:1: the marker")
                && errors[0].contains("matches no command"),
            "{errors:?}"
        );
        let errors = plan("<!-- readme-test: skip `x` -->\ntext\n```sh\nx\n```\n").unwrap_err();
        assert!(errors[0].contains("must be right above"), "{errors:?}");
        assert!(
            plan("<!-- readme-test: frobnicate -->\n```sh\n```\n").unwrap_err()[0]
                .contains("cannot read")
        );
    }

    #[test]
    fn measured_figures_are_compared_by_shape() {
        assert_eq!(
            normalize("seq          1  10.7 s      48.12x      9.3      209 ms  11.4 MiB  0"),
            "seq # # # # # # #"
        );
        assert_eq!(
            normalize(
                "on 100 hosts (simulated fleet: 100 ios devices, 50ms command latency); 2 cores, 3 runs"
            ),
            "on # hosts (simulated fleet: # ios devices, # command latency); # cores, # runs"
        );
        assert_eq!(normalize("1,000 hosts: 8 seq"), "# hosts: # seq");
        assert_eq!(normalize("kept a core 2 % busy"), "kept a core # busy");
        assert_eq!(
            strip_comment("fanout run 'a # b' x  # note"),
            "fanout run 'a # b' x"
        );
        assert_eq!(strip_comment("echo a#b"), "echo a#b");
    }
}
