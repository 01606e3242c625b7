// fanout patch: this file is not in upstream russh (vendor/russh/PATCHES.md).
//
// Licensed under the Apache License, Version 2.0, as the rest of russh.

//! mpsc channels whose slots hold a `Box<T>`.
//!
//! tokio allocates a channel's slots 32 at a time, the first block as soon as
//! the channel is made, whatever its bound. A client session has four
//! channels of [`Msg`](super::Msg) or [`Reply`](super::Reply) (~90 bytes
//! each), so every session, idle or not, held four blocks of ~3 KiB: ~11 KiB
//! of its ~40. With a box in each slot a block is ~300 bytes and a message
//! costs one small allocation while it is queued. Same API as tokio's for
//! what the session uses: a value in, a value out.

use tokio::sync::mpsc::error::{SendError, TryRecvError};
use tokio::sync::mpsc::{self};

#[derive(Debug)]
pub(crate) struct BoxSender<T>(pub(crate) mpsc::Sender<Box<T>>);

impl<T> Clone for BoxSender<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T> BoxSender<T> {
    pub(crate) async fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.0
            .send(Box::new(value))
            .await
            .map_err(|SendError(value)| SendError(*value))
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.0.is_closed()
    }
}

#[derive(Debug)]
pub(crate) struct BoxUnboundedSender<T>(pub(crate) mpsc::UnboundedSender<Box<T>>);

impl<T> Clone for BoxUnboundedSender<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T> BoxUnboundedSender<T> {
    pub(crate) fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.0
            .send(Box::new(value))
            .map_err(|SendError(value)| SendError(*value))
    }
}

#[derive(Debug)]
pub(crate) struct BoxReceiver<T>(mpsc::Receiver<Box<T>>);

impl<T> BoxReceiver<T> {
    /// Cancel-safe, as tokio's.
    pub(crate) async fn recv(&mut self) -> Option<T> {
        self.0.recv().await.map(|value| *value)
    }

    pub(crate) fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.0.try_recv().map(|value| *value)
    }

    pub(crate) fn close(&mut self) {
        self.0.close()
    }
}

#[derive(Debug)]
pub(crate) struct BoxUnboundedReceiver<T>(mpsc::UnboundedReceiver<Box<T>>);

impl<T> BoxUnboundedReceiver<T> {
    /// Cancel-safe, as tokio's.
    pub(crate) async fn recv(&mut self) -> Option<T> {
        self.0.recv().await.map(|value| *value)
    }

    pub(crate) fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.0.try_recv().map(|value| *value)
    }

    pub(crate) fn close(&mut self) {
        self.0.close()
    }
}

pub(crate) fn channel<T>(bound: usize) -> (BoxSender<T>, BoxReceiver<T>) {
    let (tx, rx) = mpsc::channel(bound);
    (BoxSender(tx), BoxReceiver(rx))
}

pub(crate) fn unbounded_channel<T>() -> (BoxUnboundedSender<T>, BoxUnboundedReceiver<T>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (BoxUnboundedSender(tx), BoxUnboundedReceiver(rx))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn values_round_trip_in_order_and_a_closed_channel_returns_the_value() {
        let (tx, mut rx) = channel::<String>(2);
        tx.send("a".into()).await.unwrap();
        tx.send("b".into()).await.unwrap();
        assert_eq!(rx.recv().await.as_deref(), Some("a"));
        assert_eq!(rx.try_recv().as_deref(), Ok("b"));
        rx.close();
        assert!(tx.is_closed());
        assert_eq!(tx.send("c".into()).await.unwrap_err().0, "c");

        let (tx, mut rx) = unbounded_channel::<u32>();
        tx.send(7).unwrap();
        assert_eq!(rx.recv().await, Some(7));
        drop(rx);
        assert_eq!(tx.send(8).unwrap_err().0, 8);
    }
}
