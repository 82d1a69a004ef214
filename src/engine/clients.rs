//! The `CLIENT` command and the client description Redis prints in `CLIENT LIST`, `CLIENT
//! INFO` and its warnings (`catClientInfoString`). Every connection counts: normal clients,
//! the replicas attached to us, and our own master's client on a replica, so `CLIENT KILL`
//! can cut a replication link from either end, as an operator does.

use super::node::{ConnId, Node};
use super::resp::Reply;

/// Client classes of `CLIENT LIST TYPE` / `CLIENT KILL TYPE` (`getClientTypeByName`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ClientType {
    Normal,
    Master,
    Replica,
    Pubsub,
}

impl ClientType {
    fn parse(name: &[u8]) -> Option<ClientType> {
        Some(match name.to_ascii_lowercase().as_slice() {
            b"normal" => ClientType::Normal,
            b"master" => ClientType::Master,
            b"replica" | b"slave" => ClientType::Replica,
            b"pubsub" => ClientType::Pubsub,
            _ => return None,
        })
    }
}

/// A connection as `CLIENT` sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Client(ConnId),
    /// Our master's client (`server.master`).
    Master,
}

/// One line of `CLIENT LIST`, before formatting.
struct Described {
    id: u64,
    kind: ClientType,
    addr: String,
    line: String,
}

/// A command's full name as Redis prints it (`container|sub`).
pub(crate) fn full_name(cmd: Option<(&str, Option<&str>)>) -> Option<String> {
    cmd.map(|(name, sub)| match sub {
        Some(sub) => format!("{name}|{sub}"),
        None => name.to_string(),
    })
}

impl Node {
    /// `CLIENT <subcommand>`.
    pub(crate) fn client_command(&mut self, conn: ConnId, argv: &[Vec<u8>]) -> Reply {
        let sub = argv[1].to_ascii_lowercase();
        match sub.as_slice() {
            b"id" => Reply::Integer(self.clients.get(&conn).map_or(0, |c| c.id as i64)),
            b"getname" => match self.clients.get(&conn).and_then(|c| c.name.clone()) {
                Some(name) => Reply::Bulk(name),
                None => Reply::Nil,
            },
            b"setname" => {
                if argv[2].iter().any(|&b| b <= b' ' || b > b'~') {
                    return Reply::error(
                        "ERR Client names cannot contain spaces, newlines or special characters.",
                    );
                }
                if let Some(c) = self.clients.get_mut(&conn) {
                    c.name = (!argv[2].is_empty()).then(|| argv[2].clone());
                }
                Reply::ok()
            }
            b"info" => Reply::Bulk(format!("{}\n", self.client_info(conn)).into_bytes()),
            b"list" => self.client_list(argv),
            b"unblock" => self.client_unblock(argv),
            _ => self.client_kill(conn, argv),
        }
    }

    /// `CLIENT LIST [TYPE type] [ID id ...]`.
    fn client_list(&self, argv: &[Vec<u8>]) -> Reply {
        let mut kind = None;
        let mut ids: Option<Vec<i64>> = None;
        match argv.get(2).map(|a| a.to_ascii_lowercase()).as_deref() {
            None => {}
            Some(b"type") if argv.len() == 4 => match ClientType::parse(&argv[3]) {
                Some(t) => kind = Some(t),
                None => {
                    return Reply::error(format!(
                        "ERR Unknown client type '{}'",
                        String::from_utf8_lossy(&argv[3])
                    ))
                }
            },
            Some(b"id") if argv.len() >= 4 => {
                let mut list = Vec::new();
                for a in &argv[3..] {
                    match super::resp::parse_i64(a) {
                        Some(n) => list.push(n),
                        None => return Reply::error("ERR Invalid client ID"),
                    }
                }
                ids = Some(list);
            }
            Some(_) => return Reply::error("ERR syntax error"),
        }
        let all = self.describe_all();
        let mut text = String::new();
        let mut add = |d: &Described| {
            text.push_str(&d.line);
            text.push('\n');
        };
        match ids {
            // In the order given, a repeated id listed again (`clientListCommand`).
            Some(ids) => {
                for id in ids {
                    if let Some(d) = all.iter().find(|d| d.id as i64 == id) {
                        add(d);
                    }
                }
            }
            None => all
                .iter()
                .filter(|d| kind.is_none_or(|k| k == d.kind))
                .for_each(add),
        }
        Reply::Bulk(text.into_bytes())
    }

    /// Every connection, oldest first (`server.clients` is in creation order).
    fn describe_all(&self) -> Vec<Described> {
        let mut all: Vec<Described> = self
            .clients
            .iter()
            .map(|(conn, c)| Described {
                id: c.id,
                kind: if c.replica.is_some() {
                    ClientType::Replica
                } else {
                    ClientType::Normal
                },
                addr: format!("{}:{}", c.peer.ip, c.peer.port),
                line: self.client_info(*conn),
            })
            .collect();
        if let Some(line) = self.master_client_info() {
            let (id, addr) = self.master_client_id_addr().unwrap_or_default();
            all.push(Described {
                id,
                kind: ClientType::Master,
                addr,
                line,
            });
        }
        all.sort_by_key(|d| d.id);
        all
    }

    /// Our master client's id and address, while we are a connected replica.
    fn master_client_id_addr(&self) -> Option<(u64, String)> {
        let link = self.replica.link.as_ref()?;
        let client = link.client.as_ref()?;
        Some((client.id, format!("{}:{}", link.host, link.port)))
    }

    /// The address this node is reached at (`laddr`): where it listens.
    fn local_addr(&self) -> String {
        let host = self
            .name
            .rsplit_once(':')
            .map_or(self.name.as_str(), |(h, _)| h);
        format!("{host}:{}", self.cfg.port)
    }

    /// `catClientInfoString` for a client of ours. replscope has no file descriptors in
    /// the engine (`fd=-1`, as Redis prints for a connection-less client) and keeps no
    /// per-client reply buffer apart from its output queue (`rbs`, `rbp` are 0).
    pub(crate) fn client_info(&self, conn: ConnId) -> String {
        let Some(c) = self.clients.get(&conn) else {
            return String::new();
        };
        let mut flags = String::new();
        if c.replica.is_some() {
            flags.push('S');
        }
        if c.multi.is_some() {
            flags.push('x');
        }
        if c.is_blocked() {
            flags.push('b');
        }
        if self.watches.is_dirty(conn) {
            flags.push('d');
        }
        // A Unix socket client is named by the socket's path and port 0.
        let unix = c.peer.port == 0 && c.peer.ip.parse::<std::net::IpAddr>().is_err();
        if unix {
            flags.push('U');
        }
        if flags.is_empty() {
            flags.push('N');
        }
        let laddr = if unix {
            format!("{}:0", c.peer.ip)
        } else {
            self.local_addr()
        };
        let now_s = self.now_s();
        let qbuf = c.parser.pending();
        let omem = c.queued;
        let tot_mem = c.parser.buffer_bytes() + omem;
        format!(
            "id={} addr={}:{} laddr={} fd=-1 name={} age={} idle={} flags={flags} db={} sub=0 psub=0 ssub=0 multi={} qbuf={qbuf} qbuf-free={} argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem={omem} tot-mem={tot_mem} events=r cmd={} user=default redir=-1 resp=2",
            c.id,
            c.peer.ip,
            c.peer.port,
            laddr,
            String::from_utf8_lossy(c.name.as_deref().unwrap_or_default()),
            now_s.saturating_sub(c.created_s),
            now_s.saturating_sub(c.last_interaction_s),
            c.db,
            c.multi.as_ref().map_or(-1, |m| m.queued.len() as i64),
            c.parser.buffer_bytes().saturating_sub(qbuf),
            full_name(c.last_cmd).unwrap_or_else(|| "NULL".into()),
        )
    }

    /// `catClientInfoString` for our master's client (flags `M`).
    fn master_client_info(&self) -> Option<String> {
        let link = self.replica.link.as_ref()?;
        let c = link.client.as_ref()?;
        let now_s = self.now_s();
        let qbuf = c.raw.len() - c.raw_pos;
        Some(format!(
            "id={} addr={}:{} laddr={} fd=-1 name= age={} idle={} flags=M{} db={} sub=0 psub=0 ssub=0 multi={} qbuf={qbuf} qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem={} events=r cmd={} user=(superuser) redir=-1 resp=2",
            c.id,
            link.host,
            link.port,
            self.local_addr(),
            now_s.saturating_sub(c.created_s),
            now_s.saturating_sub(c.last_interaction_s),
            if c.in_multi.is_some() { "x" } else { "" },
            c.db,
            c.in_multi.as_ref().map_or(-1, |m| m.len() as i64),
            c.raw.capacity() + c.parser.buffer_bytes(),
            full_name(c.last_cmd).unwrap_or_else(|| "NULL".into()),
        ))
    }

    /// `CLIENT KILL ip:port` (old form: may kill the caller) or `CLIENT KILL <filter>
    /// <value> ...` (ID, TYPE, USER, ADDR, LADDR, SKIPME), over every connection.
    fn client_kill(&mut self, me: ConnId, argv: &[Vec<u8>]) -> Reply {
        let old_form = argv.len() == 3;
        let (mut kind, mut id, mut addr, mut laddr, mut user, mut skipme) =
            (None, None, None, None, None, !old_form);
        if old_form {
            addr = Some(String::from_utf8_lossy(&argv[2]).into_owned());
        } else {
            if !(argv.len() - 2).is_multiple_of(2) {
                return Reply::error("ERR syntax error");
            }
            for pair in argv[2..].chunks(2) {
                let value = &pair[1];
                match pair[0].to_ascii_lowercase().as_slice() {
                    b"type" => match ClientType::parse(value) {
                        Some(t) => kind = Some(t),
                        None => {
                            return Reply::error(format!(
                                "ERR Unknown client type '{}'",
                                String::from_utf8_lossy(value)
                            ))
                        }
                    },
                    b"id" => match super::resp::parse_i64(value) {
                        Some(n) if n > 0 => id = Some(n as u64),
                        _ => return Reply::error("ERR client-id should be greater than 0"),
                    },
                    b"addr" => addr = Some(String::from_utf8_lossy(value).into_owned()),
                    b"laddr" => laddr = Some(String::from_utf8_lossy(value).into_owned()),
                    b"user" => {
                        // ACL user names are case-sensitive.
                        if value.as_slice() != b"default" {
                            return Reply::error(format!(
                                "ERR No such user '{}'",
                                String::from_utf8_lossy(value)
                            ));
                        }
                        user = Some(());
                    }
                    b"skipme" => match value.to_ascii_lowercase().as_slice() {
                        b"yes" => skipme = true,
                        b"no" => skipme = false,
                        _ => return Reply::error("ERR syntax error"),
                    },
                    _ => return Reply::error("ERR syntax error"),
                }
            }
        }
        let local = self.local_addr();
        let mut victims = Vec::new();
        for d in self.describe_all() {
            let target = if d.kind == ClientType::Master {
                Target::Master
            } else {
                match self.clients.iter().find(|(_, c)| c.id == d.id) {
                    Some((conn, _)) => Target::Client(*conn),
                    None => continue,
                }
            };
            // The master client is not a `default` user's connection.
            let matches = kind.is_none_or(|k| k == d.kind)
                && id.is_none_or(|id| id == d.id)
                && addr.as_ref().is_none_or(|a| *a == d.addr)
                && laddr.as_ref().is_none_or(|a| *a == local)
                && user.is_none_or(|_| target != Target::Master)
                && !(skipme && target == Target::Client(me));
            if matches {
                victims.push(target);
            }
        }
        let killed = victims.len();
        for victim in victims {
            match victim {
                // The caller gets its answer first (`close_this_client`).
                Target::Client(conn) if conn == me => {
                    if let Some(c) = self.clients.get_mut(&conn) {
                        c.close_after_reply = true;
                    }
                }
                Target::Client(conn) => self.abort(conn),
                Target::Master => self.replica_link_lost("Connection with master lost."),
            }
        }
        if old_form {
            if killed == 0 {
                return Reply::error("ERR No such client");
            }
            return Reply::ok();
        }
        Reply::Integer(killed as i64)
    }
}
