//! End-to-end tests of the `fanout` binary (one test binary, modules inside).

mod compare;
mod inventory;
mod process;
mod readme;
mod run;
mod sim;
mod support;
