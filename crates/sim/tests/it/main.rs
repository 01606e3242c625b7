//! The fleet's integration tests, one binary: the console against the exact
//! bytes scrapli and netmiko send (`console`), the fleet against the real
//! OpenSSH client (`openssh`), and scrapli / netmiko themselves (`clients`).

mod bastion;
mod clients;
mod console;
mod http;
mod openssh;
mod storms;
mod support;
mod teaching;
mod telnet;
