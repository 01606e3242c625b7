//! End-to-end tests of the `fanout` binary (one test binary, modules inside).

mod compare;

mod completions;
mod diff;
mod examples;
mod inventory;
mod lessons;
mod limits;
mod live;
mod live_browser;
mod operator;
mod parse;
mod process;
mod progress;
mod queue;
mod readme;
mod run;
mod sim;
mod similar;
mod ssh_config;
mod support;
mod telnet;
mod templates;
