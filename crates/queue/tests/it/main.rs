//! Integration tests of fanout-queue: a real nats-server (JetStream, temp
//! store, a free port on 127.0.0.1) per test, in-process workers; the executor conformance suite run through
//! the queue.

mod conformance;
mod nats_server;
mod queue;
mod workers;
