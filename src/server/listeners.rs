//! The listening sockets: one per `--bind` address, polled together by the node's task.
//! They are owned here, not by tasks of their own, so that replacing them (`CONFIG SET
//! port`) closes the old ones before the command is answered, as `changeListenPort` does.

use std::net::SocketAddr;
use std::task::Poll;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

use super::log_line;
use crate::engine::event::LogLevel;

/// Pause after a failed `accept()` (EMFILE, ENFILE, ENOBUFS): the pending connection stays
/// in the kernel's queue and would fail again at once, so trying again without a pause
/// spins a core while nothing changes. (Redis, whose `maxclients` leaves descriptors spare,
/// logs and returns to its event loop.)
const ACCEPT_RETRY_DELAY: Duration = Duration::from_millis(100);

/// The listening sockets.
pub(super) struct Listeners {
    sockets: Vec<TcpListener>,
    /// After a failed accept, when to try again.
    retry_at: Option<Instant>,
}

/// Listens on `port` on every address of `bind`, or none: the error Redis logs otherwise.
pub(super) async fn listen(bind: &[String], port: u16) -> Result<Listeners, String> {
    let mut sockets = Vec::with_capacity(bind.len());
    for addr in bind {
        let socket = TcpListener::bind((addr.as_str(), port))
            .await
            .map_err(|e| {
                format!("Could not create server TCP listening socket {addr}:{port}: {e}")
            })?;
        sockets.push(socket);
    }
    Ok(Listeners {
        sockets,
        retry_at: None,
    })
}

impl Listeners {
    /// The next connection on any of the sockets. Cancel-safe: a pause after a failure
    /// survives a `select!` that drops this future.
    pub(super) async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        loop {
            if let Some(at) = self.retry_at {
                tokio::time::sleep_until(at).await;
                self.retry_at = None;
            }
            let accepted = std::future::poll_fn(|cx| {
                for socket in &self.sockets {
                    if let Poll::Ready(result) = socket.poll_accept(cx) {
                        return Poll::Ready(result);
                    }
                }
                Poll::Pending
            })
            .await;
            match accepted {
                Ok(connection) => return connection,
                Err(e) => {
                    log_line(
                        'M',
                        LogLevel::Warning,
                        &format!("Accepting client connection: {e}"),
                    );
                    self.retry_at = Some(Instant::now() + ACCEPT_RETRY_DELAY);
                }
            }
        }
    }
}
