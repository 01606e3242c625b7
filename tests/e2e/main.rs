//! End-to-end tests of the `fanout` binary (one test binary, modules inside).

mod compare;
mod examples;
mod inventory;
mod process;
mod run;
mod sim;
mod support;
