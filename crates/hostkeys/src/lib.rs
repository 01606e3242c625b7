//! known_hosts and host-key policy (being written).
