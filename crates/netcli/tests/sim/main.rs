//! fanout-netcli against the simulator's device console, byte for byte.

mod failures;
mod harness;
mod interactive;
mod platforms;
mod props;
