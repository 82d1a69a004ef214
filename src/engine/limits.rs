//! What a client may cost the server, as Redis 7.0 bounds it: who is admitted (`maxclients`,
//! `protected-mode`), how much unparsed input it may leave (`client-query-buffer-limit`),
//! how much output it may leave unread (`client-output-buffer-limit normal`, and a small cap
//! while it has not authenticated), and how long it may stay idle (`timeout`).
//!
//! Every check is on counts the node already has: it stays sans-IO. The driver only reports
//! how much of a connection's output its socket has not taken ([`Input::SendQueue`]).
//!
//! [`Input::SendQueue`]: super::node::Input::SendQueue

use super::config::{Config, ConfigError, OutputBufferLimit};
use super::event::LogLevel;
use super::node::{ConnId, Node, PeerAddr};
use super::resp::Reply;

/// Bytes of a client's replies that live in its fixed reply buffer (`PROTO_REPLY_CHUNK_BYTES`):
/// Redis counts only what overflows it as output buffer memory, in list nodes of at least
/// this size.
const PROTO_REPLY_CHUNK_BYTES: usize = 16 * 1024;

/// Output buffer memory a client that must still authenticate may hold before it is closed
/// (CVE-2025-21605, backported to Debian's 7.0.15: `used_mem > 1024 && authRequired(c)`).
const UNAUTHENTICATED_OUTPUT_MAX: usize = 1024;

/// What `acceptCommonHandler` writes to a connection over `maxclients` before closing it.
const MAXCLIENTS_ERROR: &[u8] = b"-ERR max number of clients reached\r\n";

/// What `clientAcceptHandler` writes to a non-loopback connection in protected mode.
const PROTECTED_MODE_ERROR: &str = "-DENIED Redis is running in protected mode because protected \
mode is enabled and no password is set for the default user. In this mode connections are only \
accepted from the loopback interface. If you want to connect from external computers to Redis you \
may adopt one of the following solutions: 1) Just disable protected mode sending the command \
'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same \
host the server is running, however MAKE SURE Redis is not publicly accessible from internet if \
you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable \
the protected mode by editing the Redis configuration file, and setting the protected mode option \
to 'no', and then restarting the server. 3) If you started the server manually just for testing, \
restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the \
default user. NOTE: You only need to do one of the above things in order for the server to start \
accepting connections from the outside.\r\n";

impl OutputBufferLimit {
    /// `checkClientOutputBufferLimits` for `used` bytes at `now_s`: past the hard limit, or
    /// past the soft limit continuously for more than `soft_seconds` (`soft_since_s` keeps
    /// when the soft limit was first seen reached).
    pub(crate) fn reached(&self, used: usize, soft_since_s: &mut Option<u64>, now_s: u64) -> bool {
        let used = used as u64;
        let hard = self.hard > 0 && used >= self.hard;
        let mut soft = self.soft > 0 && used >= self.soft;
        if soft {
            match *soft_since_s {
                None => {
                    *soft_since_s = Some(now_s);
                    soft = false;
                }
                Some(since) => soft = now_s.saturating_sub(since) > self.soft_seconds,
            }
        } else {
            *soft_since_s = None;
        }
        hard || soft
    }
}

impl Node {
    /// Admission of a new connection (`acceptCommonHandler`, `clientAcceptHandler`): the
    /// refusal, written raw, if it must be turned away.
    pub(crate) fn refusal(&self, peer: &PeerAddr) -> Option<Vec<u8>> {
        let connected = self.clients.len() + usize::from(self.replica.is_connected());
        if connected as u64 >= self.cfg.maxclients {
            return Some(MAXCLIENTS_ERROR.to_vec());
        }
        if self.cfg.protected_mode && self.cfg.requirepass.is_none() && is_outside(peer) {
            return Some(PROTECTED_MODE_ERROR.as_bytes().to_vec());
        }
        None
    }

    /// `updateMaxclients`: a `maxclients` beyond what the driver said the process can raise
    /// its open files limit for is refused.
    pub(crate) fn maxclients_error(&self, next: &Config) -> Option<Reply> {
        let ceiling = self.maxclients_ceiling?;
        (next.maxclients > ceiling).then(|| {
            Reply::error(
                ConfigError::Invalid {
                    name: "maxclients".into(),
                    reason: format!("The operating system is not able to handle the specified number of clients, try with {ceiling}"),
                }
                .reply_text(),
            )
        })
    }

    /// `authRequired`: a password is set and this client has not given it.
    pub(crate) fn auth_required(&self, conn: ConnId) -> bool {
        self.cfg.requirepass.is_some() && self.clients.get(&conn).is_some_and(|c| !c.authenticated)
    }

    /// `readQueryFromClient`'s check after a read: a client whose unparsed input passes
    /// `client-query-buffer-limit` is closed, without a reply. True if it was.
    pub(crate) fn query_buffer_over_limit(&mut self, conn: ConnId) -> bool {
        let Some(c) = self.clients.get(&conn) else {
            return false;
        };
        let qbuf = c.parser.pending();
        if (qbuf as u64) <= self.cfg.client_query_buffer_limit {
            return false;
        }
        let who = self.client_info(conn);
        self.log(
            LogLevel::Warning,
            format!("Closing client that reached max query buffer length: {who}"),
        );
        self.abort(conn);
        true
    }

    /// Output limits of a normal client: what its socket has not taken beyond the fixed reply
    /// buffer, against `client-output-buffer-limit normal`, or against
    /// [`UNAUTHENTICATED_OUTPUT_MAX`] while it must authenticate (a client pipelining
    /// commands it may not run and never reading the errors). True if it was closed.
    pub(crate) fn output_over_limit(&mut self, conn: ConnId, unwritten: usize) -> bool {
        let now_s = self.now_s();
        let auth_required = self.auth_required(conn);
        let limit = self.cfg.client_output_buffer_limit_normal;
        let Some(c) = self.clients.get_mut(&conn) else {
            return false;
        };
        if c.replica.is_some() {
            return false;
        }
        let used = output_buffer_memory(unwritten);
        let over = (auth_required && used > UNAUTHENTICATED_OUTPUT_MAX)
            | limit.reached(used, &mut c.soft_since_s, now_s);
        if over {
            let who = self.client_info(conn);
            self.log(
                LogLevel::Warning,
                format!(
                    "Client {who} scheduled to be closed ASAP for overcoming of output buffer limits."
                ),
            );
            self.abort(conn);
        }
        over
    }

    /// `clientsCronHandleTimeout`: normal clients idle for more than `timeout` seconds are
    /// closed; replicas and clients blocked in WAIT are not.
    pub(crate) fn close_idle_clients(&mut self) {
        if self.cfg.timeout == 0 {
            return;
        }
        let now_s = self.now_s();
        let idle: Vec<ConnId> = self
            .clients
            .iter()
            .filter(|(_, c)| c.replica.is_none() && !c.is_blocked())
            .filter(|(_, c)| now_s.saturating_sub(c.last_interaction_s) > self.cfg.timeout)
            .map(|(conn, _)| *conn)
            .collect();
        for conn in idle {
            self.log(LogLevel::Verbose, "Closing idle client");
            self.abort(conn);
        }
    }
}

/// `getClientOutputBufferMemoryUsage` for `unwritten` bytes of replies: what overflows the
/// fixed reply buffer, counted in whole reply list nodes (so one byte over is 16 KB).
fn output_buffer_memory(unwritten: usize) -> usize {
    unwritten
        .saturating_sub(PROTO_REPLY_CHUNK_BYTES)
        .div_ceil(PROTO_REPLY_CHUNK_BYTES)
        * PROTO_REPLY_CHUNK_BYTES
}

/// Whether protected mode turns `peer` away: an IP address other than the two loopback ones
/// `islocalClient` knows. The simulator's hosts have names (`m`, `r1`), not addresses: its
/// virtual network has no loopback interface and no outside to protect from.
fn is_outside(peer: &PeerAddr) -> bool {
    peer.ip.parse::<std::net::IpAddr>().is_ok() && peer.ip != "127.0.0.1" && peer.ip != "::1"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soft_limit_counts_only_after_its_seconds_and_hard_at_once() {
        let limit = OutputBufferLimit {
            hard: 100,
            soft: 10,
            soft_seconds: 2,
        };
        let mut since = None;
        assert!(!limit.reached(10, &mut since, 50));
        assert_eq!(since, Some(50));
        assert!(!limit.reached(10, &mut since, 52));
        assert!(limit.reached(10, &mut since, 53));
        assert!(!limit.reached(9, &mut since, 54));
        assert_eq!(since, None);
        assert!(limit.reached(100, &mut since, 54));
        let none = OutputBufferLimit {
            hard: 0,
            soft: 0,
            soft_seconds: 0,
        };
        assert!(!none.reached(usize::MAX, &mut None, 0));
    }

    #[test]
    fn output_memory_counts_reply_list_nodes_past_the_reply_buffer() {
        assert_eq!(output_buffer_memory(16 * 1024), 0);
        assert_eq!(output_buffer_memory(16 * 1024 + 1), 16 * 1024);
        assert_eq!(output_buffer_memory(48 * 1024 + 5), 32 * 1024 + 16 * 1024);
    }

    #[test]
    fn protected_mode_judges_addresses_only() {
        let peer = |ip: &str| PeerAddr {
            ip: ip.into(),
            port: 1,
        };
        assert!(!is_outside(&peer("127.0.0.1")));
        assert!(!is_outside(&peer("::1")));
        assert!(is_outside(&peer("127.0.0.2")));
        assert!(is_outside(&peer("10.1.2.3")));
        assert!(!is_outside(&peer("r1")));
    }
}
