//! fanout-exec-async's integration tests, one binary: the executor
//! contract and message parity with `seq` ([`conformance`]), proof that
//! the SSH-fleet checks catch a broken executor ([`defects`]), and devices
//! that misbehave in ways the simulator does not model ([`ssh_hardening`]).

mod conformance;
mod defects;
mod ssh_hardening;
