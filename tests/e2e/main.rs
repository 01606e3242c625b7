//! End-to-end tests of the `fanout` binary (one test binary, modules inside).

mod compare;
mod examples;
mod inventory;
mod live;
mod live_browser;
mod process;
mod readme;
mod run;
mod sim;
mod support;
