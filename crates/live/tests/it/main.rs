//! fanout-live integration tests: a real server on 127.0.0.1:0, real
//! websocket and HTTP clients.

mod feed;
mod protocol;
mod security;
mod support;
