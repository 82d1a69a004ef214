//! The listening sockets: one per `--bind` address, each with an accept task that hands new
//! connections to the node's task. They are replaced as a whole when `CONFIG SET port`
//! moves the server.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{log_line, Msg};
use crate::engine::event::LogLevel;

/// Pause after a failed `accept()` (EMFILE, ENFILE, ENOBUFS): the pending connection stays
/// in the kernel's queue and would fail again at once, so trying again without a pause
/// spins a core while nothing changes. (Redis, whose `maxclients` leaves descriptors spare,
/// logs and returns to its event loop.)
const ACCEPT_RETRY_DELAY: Duration = Duration::from_millis(100);

/// The accept tasks of the listening sockets; dropping it closes them.
pub(super) struct Listeners {
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Listeners {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// A new inbound connection.
pub(super) struct Accepted {
    pub stream: TcpStream,
    pub peer: SocketAddr,
}

/// Listens on `port` on every address of `bind`, or none: the error Redis logs otherwise.
pub(super) async fn listen(
    bind: &[String],
    port: u16,
    tx: &mpsc::UnboundedSender<Msg>,
) -> Result<Listeners, String> {
    let mut sockets = Vec::with_capacity(bind.len());
    for addr in bind {
        let socket = TcpListener::bind((addr.as_str(), port))
            .await
            .map_err(|e| {
                format!("Could not create server TCP listening socket {addr}:{port}: {e}")
            })?;
        sockets.push(socket);
    }
    let tasks = sockets
        .into_iter()
        .map(|socket| tokio::spawn(accept_loop(socket, tx.clone())))
        .collect();
    Ok(Listeners { tasks })
}

async fn accept_loop(socket: TcpListener, tx: mpsc::UnboundedSender<Msg>) {
    loop {
        match socket.accept().await {
            Ok((stream, peer)) => {
                if tx.send(Msg::Accepted(Accepted { stream, peer })).is_err() {
                    return;
                }
            }
            Err(e) => {
                log_line(
                    'M',
                    LogLevel::Warning,
                    &format!("Accepting client connection: {e}"),
                );
                tokio::time::sleep(ACCEPT_RETRY_DELAY).await;
            }
        }
    }
}
