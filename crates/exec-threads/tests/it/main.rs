//! fanout-exec-threads' integration tests, one binary: the executor
//! contract for `seq`, `threads` and `rayon` ([`conformance`]), proof that
//! the checks catch a broken executor ([`defects`]), and the ssh2 transport
//! against the simulated fleet ([`ssh`]).

mod conformance;
mod defects;
mod ssh;
