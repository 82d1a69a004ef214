//! The node's output queue. Like Redis, which writes a client's output once per event loop
//! iteration, bytes for one connection produced by one input join a single send: a pipeline
//! of a thousand writes leaves the master as one segment per replica, not a thousand.

use std::borrow::Cow;
use std::collections::VecDeque;

use super::node::{ConnId, Output};

/// Outputs in order, with the sends that later bytes for the same connection may still join.
#[derive(Clone, Debug, Default)]
pub(crate) struct Outbox {
    queue: VecDeque<Output>,
    /// Outputs already taken by the driver: `queue[i]` is output number `taken + i`.
    taken: u64,
    /// Per connection, the number of its last send, while nothing but sends and events
    /// follow it (a close, connect or save in between must keep its place in the order).
    joinable: Vec<(ConnId, u64)>,
}

impl Outbox {
    /// Bytes of output waiting for the driver.
    pub(crate) fn queued_bytes(&self) -> usize {
        self.queue
            .iter()
            .map(|o| match o {
                Output::Send { bytes, .. } => bytes.capacity(),
                Output::SaveRdb { bytes } => bytes.len(),
                _ => 64,
            })
            .sum()
    }

    /// Whether bytes for `conn` wait here for the driver: replies not written yet, as Redis's
    /// `clientHasPendingReplies` sees them within one event-loop iteration.
    pub(crate) fn has_bytes_for(&self, conn: ConnId) -> bool {
        self.queue.iter().any(
            |o| matches!(o, Output::Send { conn: c, bytes } if *c == conn && !bytes.is_empty()),
        )
    }

    /// Queues bytes for `conn`, joining its last send when nothing ordered came after it.
    pub(crate) fn send(&mut self, conn: ConnId, bytes: Cow<'_, [u8]>) {
        match self.joinable_send(conn) {
            Some(queued) => queued.extend_from_slice(&bytes),
            None => self.push_send(conn, bytes.into_owned()),
        }
    }

    /// The bytes queued for `conn` that more may join, a new empty send if there are none:
    /// a reply is encoded straight into it.
    pub(crate) fn buffer(&mut self, conn: ConnId) -> &mut Vec<u8> {
        if self.joinable_send(conn).is_none() {
            self.push_send(conn, Vec::new());
        }
        self.joinable_send(conn)
            .expect("a send for conn was just queued")
    }

    fn joinable_send(&mut self, conn: ConnId) -> Option<&mut Vec<u8>> {
        let &(_, number) = self.joinable.iter().find(|(c, _)| *c == conn)?;
        match self.queue.get_mut(number.checked_sub(self.taken)? as usize) {
            Some(Output::Send { bytes, .. }) => Some(bytes),
            _ => None,
        }
    }

    fn push_send(&mut self, conn: ConnId, bytes: Vec<u8>) {
        self.joinable.retain(|(c, _)| *c != conn);
        self.joinable
            .push((conn, self.taken + self.queue.len() as u64));
        self.queue.push_back(Output::Send { conn, bytes });
    }

    /// Queues anything but bytes; only events leave earlier sends joinable.
    pub(crate) fn push(&mut self, output: Output) {
        match output {
            Output::Send { conn, bytes } => return self.send(conn, bytes.into()),
            Output::Event(_) => {}
            _ => self.joinable.clear(),
        }
        self.queue.push_back(output);
    }

    /// Drops the bytes queued for `conn` that the driver has not taken (`freeClient` never
    /// writes them). Their places stay, emptied, so that later output keeps its number.
    pub(crate) fn discard(&mut self, conn: ConnId) {
        for output in &mut self.queue {
            if let Output::Send { conn: c, bytes } = output {
                if *c == conn {
                    *bytes = Vec::new();
                }
            }
        }
    }

    /// The next output; sends emptied by [`Outbox::discard`] are skipped.
    pub(crate) fn pop(&mut self) -> Option<Output> {
        loop {
            let output = self.queue.pop_front()?;
            self.taken += 1;
            match &output {
                Output::Send { bytes, .. } if bytes.is_empty() => continue,
                _ => return Some(output),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::event::Event;

    fn sends(outbox: &mut Outbox) -> Vec<Output> {
        std::iter::from_fn(|| outbox.pop()).collect()
    }

    #[test]
    fn bytes_for_one_connection_join_across_events_and_other_connections() {
        let mut o = Outbox::default();
        o.send(ConnId::In(1), b"a"[..].into());
        o.push(Output::Event(Event::BacklogFreed));
        o.send(ConnId::In(2), b"x"[..].into());
        o.send(ConnId::In(1), b"b"[..].into());
        assert_eq!(
            sends(&mut o),
            vec![
                Output::Send {
                    conn: ConnId::In(1),
                    bytes: b"ab".to_vec()
                },
                Output::Event(Event::BacklogFreed),
                Output::Send {
                    conn: ConnId::In(2),
                    bytes: b"x".to_vec()
                },
            ]
        );
    }

    #[test]
    fn discarded_bytes_never_leave_and_later_ones_still_join() {
        let mut o = Outbox::default();
        o.send(ConnId::In(1), b"a"[..].into());
        o.send(ConnId::In(2), b"x"[..].into());
        o.discard(ConnId::In(1));
        o.send(ConnId::In(2), b"y"[..].into());
        assert_eq!(
            sends(&mut o),
            vec![Output::Send {
                conn: ConnId::In(2),
                bytes: b"xy".to_vec()
            }]
        );
    }

    #[test]
    fn a_close_or_a_taken_send_is_not_joined() {
        let mut o = Outbox::default();
        o.send(ConnId::In(1), b"a"[..].into());
        o.push(Output::Close {
            conn: ConnId::In(2),
        });
        o.send(ConnId::In(1), b"b"[..].into());
        assert_eq!(sends(&mut o).len(), 3, "bytes after a close stay after it");
        o.send(ConnId::In(1), b"c"[..].into());
        assert_eq!(
            sends(&mut o),
            vec![Output::Send {
                conn: ConnId::In(1),
                bytes: b"c".to_vec()
            }],
            "a send the driver already took cannot grow"
        );
    }
}
