//! `cli 'copy run start' --expect 'filename \[startup-config\]\?' --answer ''`: an
//! `--expect REGEX` belongs to the command before it on the command line,
//! and the `--answer TEXT` right after it is sent as the next line. clap
//! keeps positionals and options apart, so the association comes from
//! their indices on the command line (`ArgMatches::indices_of`).

use clap::ArgMatches;

use crate::cli::{Cli, Command, TaskCmd};

/// What the dialog gets: the commands with each answer in its place, and
/// by command index the regex that ends that command's output.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Associated {
    pub(crate) commands: Vec<String>,
    pub(crate) expects: Vec<Option<String>>,
}

/// Pairs the `--expect`s and `--answer`s with the commands by position.
/// Each item is (index on the command line, value).
pub(crate) fn associate(
    commands: &[(usize, String)],
    expects: &[(usize, String)],
    answers: &[(usize, String)],
) -> Result<Associated, String> {
    const EXAMPLE: &str =
        r"e.g. cli 'copy run start' --expect 'filename \[startup-config\]\?' --answer ''";
    // Everything in command-line order.
    enum Item<'a> {
        Command(&'a str),
        Expect(&'a str),
        Answer(&'a str),
    }
    let mut items: Vec<(usize, Item)> = commands
        .iter()
        .map(|(i, c)| (*i, Item::Command(c)))
        .chain(expects.iter().map(|(i, e)| (*i, Item::Expect(e))))
        .chain(answers.iter().map(|(i, a)| (*i, Item::Answer(a))))
        .collect();
    items.sort_by_key(|(i, _)| *i);
    let mut out = Associated {
        commands: Vec::new(),
        expects: Vec::new(),
    };
    // The --expect waiting for its --answer: (command, pattern).
    let mut open: Option<(String, String)> = None;
    for (_, item) in items {
        match item {
            Item::Command(c) => {
                if let Some((command, pattern)) = open.take() {
                    return Err(format!(
                        "--expect '{pattern}' (after `{command}`) has no --answer before the next command `{c}`: give the line to send right after it ('' sends just Enter), {EXAMPLE}"
                    ));
                }
                out.commands.push(c.to_string());
                out.expects.push(None);
            }
            Item::Expect(e) => {
                if let Some((command, pattern)) = &open {
                    return Err(format!(
                        "`{command}` has two --expect ('{pattern}' and '{e}') without an --answer between them; one question per command, {EXAMPLE}"
                    ));
                }
                let Some(command) = out.commands.last() else {
                    return Err(format!(
                        "--expect '{e}' comes before any command; put it right after the command whose question it matches, {EXAMPLE}"
                    ));
                };
                // After an --answer, it is that answer's question (a
                // device asking twice: filename, then [confirm]).
                let last = out.expects.len() - 1;
                check_expect(command, e)?;
                out.expects[last] = Some(e.to_string());
                open = Some((command.clone(), e.to_string()));
            }
            Item::Answer(a) => {
                if open.take().is_none() {
                    return Err(format!(
                        "--answer '{a}' without an --expect before it: an answer is sent when the --expect regex right before it matches the device's question, {EXAMPLE}"
                    ));
                }
                out.commands.push(a.to_string());
                out.expects.push(None);
            }
        }
    }
    if let Some((command, pattern)) = open {
        return Err(format!(
            "--expect '{pattern}' (after `{command}`) needs an --answer right after it: the line to send ('' sends just Enter), {EXAMPLE}"
        ));
    }
    // No trailing `None`s: CliOptions.expects may be shorter than the commands.
    while out.expects.last() == Some(&None) {
        out.expects.pop();
    }
    Ok(out)
}

/// The dialog's own check of an expect pattern (empty, invalid regex),
/// made before any host starts.
fn check_expect(command: &str, pattern: &str) -> Result<(), String> {
    let spec = fanout_netcli::DialogSpec {
        platform: fanout_core::Platform::Ios,
        commands: vec![fanout_netcli::CliCommand::expecting(command, pattern)],
        mode: fanout_core::CliMode::User,
        secret: None,
        prompt: None,
        error_patterns: Vec::new(),
    };
    fanout_netcli::Dialog::new(spec)
        .map(drop)
        .map_err(|e| format!("--expect: {e}"))
}

fn indexed(m: &ArgMatches, id: &str) -> Vec<(usize, String)> {
    match (m.indices_of(id), m.get_many::<String>(id)) {
        (Some(i), Some(v)) => i.zip(v.cloned()).collect(),
        _ => Vec::new(),
    }
}

/// Fills in the `cli` task of `run` or `compare` from the command line's
/// positions; a clap error (exit 2) when they do not pair up.
pub(crate) fn apply(cli: &mut Cli, matches: &ArgMatches) -> Result<(), clap::Error> {
    let (name, task) = match &mut cli.command {
        Command::Run(args) => ("run", Some(&mut args.task)),
        Command::Compare(args) => ("compare", args.task.as_mut()),
        _ => return Ok(()),
    };
    let Some(TaskCmd::Cli {
        commands,
        expect_args,
        answer_args,
        expects,
        ..
    }) = task
    else {
        return Ok(());
    };
    let Some(m) = matches
        .subcommand_matches(name)
        .and_then(|m| m.subcommand_matches("cli"))
    else {
        return Ok(());
    };
    if expect_args.is_empty() && answer_args.is_empty() {
        return Ok(());
    }
    let done = associate(
        &indexed(m, "commands"),
        &indexed(m, "expect_args"),
        &indexed(m, "answer_args"),
    )
    .map_err(|e| clap::Error::raw(clap::error::ErrorKind::ArgumentConflict, format!("{e}\n")))?;
    *commands = done.commands;
    *expects = done.expects;
    expect_args.clear();
    answer_args.clear();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(items: &[(usize, &str)]) -> Vec<(usize, String)> {
        items.iter().map(|(i, s)| (*i, s.to_string())).collect()
    }

    #[test]
    fn an_expect_belongs_to_the_command_before_it_and_its_answer_follows() {
        // cli 'show clock' 'copy run start' --expect 'Destination' --answer '' 'show version'
        let done = associate(
            &at(&[
                (1, "show clock"),
                (2, "copy run start"),
                (7, "show version"),
            ]),
            &at(&[(4, "Destination filename")]),
            &at(&[(6, "")]),
        )
        .unwrap();
        assert_eq!(
            done.commands,
            ["show clock", "copy run start", "", "show version"]
        );
        assert_eq!(done.expects, [None, Some("Destination filename".into())]);
        // Two questions, each with its answer.
        let done = associate(
            &at(&[(1, "copy run start"), (6, "configure")]),
            &at(&[(3, "Destination"), (8, r"\[terminal\]\?")]),
            &at(&[(5, ""), (10, "")]),
        )
        .unwrap();
        assert_eq!(done.commands, ["copy run start", "", "configure", ""]);
        assert_eq!(
            done.expects,
            [
                Some("Destination".into()),
                None,
                Some(r"\[terminal\]\?".into())
            ]
        );
    }

    #[test]
    fn pairs_that_do_not_fit_are_clear_errors() {
        let cmd = at(&[(1, "copy run start")]);
        let e = associate(&cmd, &[], &at(&[(3, "")])).unwrap_err();
        assert!(e.starts_with("--answer '' without an --expect"), "{e}");
        let e = associate(&cmd, &at(&[(3, "Destination")]), &[]).unwrap_err();
        assert!(e.contains("needs an --answer right after it"), "{e}");
        let e = associate(&at(&[(5, "x")]), &at(&[(2, "Q")]), &at(&[(4, "")])).unwrap_err();
        assert!(e.contains("comes before any command"), "{e}");
        let e = associate(
            &at(&[(1, "copy run start"), (4, "show clock")]),
            &at(&[(2, "Destination")]),
            &at(&[(6, "")]),
        )
        .unwrap_err();
        assert!(
            e.contains("has no --answer before the next command `show clock`"),
            "{e}"
        );
        let e = associate(&cmd, &at(&[(3, "A"), (5, "B")]), &at(&[(7, "")])).unwrap_err();
        assert!(e.contains("two --expect"), "{e}");
        let e = associate(&cmd, &at(&[(3, "A"), (7, "B")]), &at(&[(5, "")])).unwrap_err();
        assert!(e.contains("needs an --answer right after it"), "{e}");
        // A question after an answer: the answer's own --expect.
        let done = associate(
            &cmd,
            &at(&[(3, "filename"), (7, r"\[confirm\]")]),
            &at(&[(5, ""), (9, "y")]),
        )
        .unwrap();
        assert_eq!(done.commands, ["copy run start", "", "y"]);
        assert_eq!(
            done.expects,
            [Some("filename".into()), Some(r"\[confirm\]".into())]
        );
    }

    #[test]
    fn an_invalid_regex_names_itself_and_its_command() {
        let e = associate(
            &at(&[(1, "copy run start")]),
            &at(&[(3, "[oops")]),
            &at(&[(5, "")]),
        )
        .unwrap_err();
        assert!(
            e.contains("--expect: invalid `expect` regex `[oops` for command `copy run start`"),
            "{e}"
        );
        let e = associate(&at(&[(1, "copy")]), &at(&[(3, "  ")]), &at(&[(5, "")])).unwrap_err();
        assert!(e.contains("empty"), "{e}");
    }
}
