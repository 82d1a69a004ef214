//! A connection's sending side, over TCP or a Unix socket (`unixsocket`): the writer code
//! needs only `try_write` and `writable`, which both kinds have.

use std::io;

use tokio::net::{tcp, unix};

/// The sending half of an accepted or dialled connection.
pub(super) enum SendHalf {
    Tcp(tcp::OwnedWriteHalf),
    Unix(unix::OwnedWriteHalf),
}

impl SendHalf {
    pub(super) fn try_write(&self, bytes: &[u8]) -> io::Result<usize> {
        match self {
            SendHalf::Tcp(w) => w.try_write(bytes),
            SendHalf::Unix(w) => w.try_write(bytes),
        }
    }

    pub(super) async fn writable(&self) -> io::Result<()> {
        match self {
            SendHalf::Tcp(w) => w.writable().await,
            SendHalf::Unix(w) => w.writable().await,
        }
    }
}
