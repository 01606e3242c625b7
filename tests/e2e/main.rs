//! End-to-end tests of the `fanout` binary (one test binary, modules inside).

mod cli_expect;
mod compare;

mod completions;
mod diff;
mod doctor;
mod examples;
mod http;
mod interrupt;
mod inventory;
mod jump;
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
mod secrets;
mod sim;
mod similar;
mod ssh_config;
mod support;
mod telnet;
mod templates;
