//! `INFO`, formatted as Redis 7.0's `genRedisInfoString`: `# Section` headers, `name:value`
//! lines ending in CRLF, sections separated by an empty line. The replication section prints
//! every field Redis prints, in the same order.

use super::event::{LinkState, ReplicaState};
use super::node::Node;

/// The Redis version replscope speaks (INFO, the RDB's `redis-ver` AUX field).
pub const REDIS_VERSION: &str = "7.0.15";

const DEFAULT_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "keyspace",
];

/// Renders INFO for `section` (`None`: the default sections; `all`/`everything`: all).
pub fn render(node: &Node, section: Option<&str>) -> String {
    let section = section.map(str::to_ascii_lowercase);
    // `all` and `everything` add the sections `default` leaves out.
    let extra = matches!(section.as_deref(), Some("all" | "everything"));
    let wanted: Vec<String> = match section {
        None => DEFAULT_SECTIONS.iter().map(|s| s.to_string()).collect(),
        Some(s) if s == "all" || s == "everything" || s == "default" => {
            DEFAULT_SECTIONS.iter().map(|s| s.to_string()).collect()
        }
        Some(s) => vec![s],
    };
    let mut parts = Vec::new();
    for name in DEFAULT_SECTIONS {
        if wanted.iter().any(|w| w == name) {
            parts.push(match *name {
                "server" => server(node),
                "clients" => clients(node),
                "memory" => memory(node),
                "persistence" => node.persistence_info(),
                "stats" => stats(node),
                "replication" => replication(node),
                _ => keyspace(node),
            });
        }
    }
    if extra || wanted.iter().any(|w| w == "commandstats") {
        parts.push(node.command_stats.render());
    }
    parts.join("\r\n")
}

fn server(node: &Node) -> String {
    let uptime = (node.now_ms - node.started_ms) / 1000;
    format!(
        "# Server\r\nredis_version:{REDIS_VERSION}\r\nredis_mode:standalone\r\nos:replscope (sans-IO engine)\r\nprocess_id:{}\r\nrun_id:{}\r\ntcp_port:{}\r\nuptime_in_seconds:{}\r\nuptime_in_days:{}\r\nhz:10\r\n",
        node.process_id,
        node.run_id(),
        node.cfg.port,
        uptime,
        uptime / 86400
    )
}

fn clients(node: &Node) -> String {
    let normal = node
        .clients
        .values()
        .filter(|c| c.replica.is_none())
        .count();
    let blocked = node.clients.values().filter(|c| c.is_blocked()).count();
    format!(
        "# Clients\r\nconnected_clients:{normal}\r\nmaxclients:{}\r\nblocked_clients:{blocked}\r\n",
        node.cfg.maxclients
    )
}

/// The fields of Redis's memory section that `maxmemory` explains; `used_memory` is the
/// estimate the OOM check compares (see [`crate::engine::maxmemory`]).
fn memory(node: &Node) -> String {
    let used = node.used_memory() as u64;
    let max = node.cfg.maxmemory;
    format!(
        "# Memory\r\nused_memory:{used}\r\nused_memory_human:{}\r\nmaxmemory:{max}\r\nmaxmemory_human:{}\r\nmaxmemory_policy:noeviction\r\nmem_total_replication_buffers:{}\r\n",
        bytes_to_human(used),
        bytes_to_human(max),
        node.backlog().map_or(0, |b| b.replication_buffer_memory()),
    )
}

/// `bytesToHuman`: bytes below 1024, else two decimals of the largest unit that fits.
fn bytes_to_human(n: u64) -> String {
    const UNITS: [&str; 5] = ["K", "M", "G", "T", "P"];
    if n < 1024 {
        return format!("{n}B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.2}{}", UNITS[unit])
}

fn stats(node: &Node) -> String {
    let s = &node.stats;
    format!(
        "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\nrejected_connections:{}\r\nexpired_keys:{}\r\nsync_full:{}\r\nsync_partial_ok:{}\r\nsync_partial_err:{}\r\n",
        s.total_connections_received,
        s.total_commands_processed,
        s.rejected_connections,
        s.expired_keys,
        s.sync_full,
        s.sync_partial_ok,
        s.sync_partial_err
    )
}

fn replication(node: &Node) -> String {
    let now_s = node.now_s();
    let m = &node.master;
    let mut out = String::from("# Replication\r\n");
    match node.replica.link.as_ref() {
        None => out.push_str("role:master\r\n"),
        Some(link) => {
            out.push_str("role:slave\r\n");
            let (reploff, read_reploff) = match (&link.client, &node.replica.cached) {
                (Some(c), _) => (c.reploff, c.read_reploff),
                (None, Some(c)) => (c.reploff, c.reploff),
                (None, None) => (1, 1),
            };
            let last_io = link
                .client
                .as_ref()
                .map_or(-1, |c| now_s.saturating_sub(c.last_interaction_s) as i64);
            out.push_str(&format!(
                "master_host:{}\r\nmaster_port:{}\r\nmaster_link_status:{}\r\nmaster_last_io_seconds_ago:{}\r\nmaster_sync_in_progress:{}\r\nslave_read_repl_offset:{}\r\nslave_repl_offset:{}\r\n",
                link.host,
                link.port,
                if link.state == LinkState::Connected { "up" } else { "down" },
                last_io,
                (link.state == LinkState::Transfer) as u8,
                read_reploff,
                reploff
            ));
            if link.state == LinkState::Transfer {
                let (total, read) = node.replica.transfer_progress();
                // `if (server.repl_transfer_size)`: -1 before the header gives "-0.00".
                let perc = if total != 0 {
                    read as f64 / total as f64 * 100.0
                } else {
                    0.0
                };
                out.push_str(&format!(
                    "master_sync_total_bytes:{}\r\nmaster_sync_read_bytes:{}\r\nmaster_sync_left_bytes:{}\r\nmaster_sync_perc:{:.2}\r\nmaster_sync_last_io_seconds_ago:{}\r\n",
                    total,
                    read,
                    total - read,
                    perc,
                    now_s.saturating_sub(link.transfer_lastio_s)
                ));
            }
            if link.state != LinkState::Connected {
                let down = if node.replica.down_since_s == 0 {
                    -1
                } else {
                    now_s.saturating_sub(node.replica.down_since_s) as i64
                };
                out.push_str(&format!("master_link_down_since_seconds:{down}\r\n"));
            }
            out.push_str(&format!(
                "slave_priority:{}\r\nslave_read_only:{}\r\nreplica_announced:1\r\n",
                node.cfg.replica_priority, node.cfg.replica_read_only as u8
            ));
        }
    }
    out.push_str(&format!("connected_slaves:{}\r\n", m.replicas.len()));
    if node.cfg.min_replicas_to_write > 0 && node.cfg.min_replicas_max_lag > 0 {
        out.push_str(&format!("min_slaves_good_slaves:{}\r\n", m.good_replicas));
    }
    for (i, conn) in m.replicas.iter().enumerate() {
        let Some(c) = node.clients.get(conn) else {
            continue;
        };
        let Some(link) = c.replica.as_ref() else {
            continue;
        };
        let lag = if link.state == ReplicaState::Online {
            now_s.saturating_sub(link.ack_time_s)
        } else {
            0
        };
        out.push_str(&format!(
            "slave{}:ip={},port={},state={},offset={},lag={}\r\n",
            i,
            c.announced_ip.as_deref().unwrap_or(&c.peer.ip),
            c.listening_port,
            link.state.info_word(),
            link.ack_off,
            lag
        ));
    }
    let (first, histlen) = m
        .backlog
        .as_ref()
        .map_or((0, 0), |b| (b.first_byte_offset(), b.histlen()));
    out.push_str(&format!(
        "master_failover_state:no-failover\r\nmaster_replid:{}\r\nmaster_replid2:{}\r\nmaster_repl_offset:{}\r\nsecond_repl_offset:{}\r\nrepl_backlog_active:{}\r\nrepl_backlog_size:{}\r\nrepl_backlog_first_byte_offset:{}\r\nrepl_backlog_histlen:{}\r\n",
        m.replid,
        m.replid2,
        m.repl_offset,
        m.second_replid_offset,
        m.backlog.is_some() as u8,
        node.cfg.repl_backlog_size,
        first,
        histlen
    ));
    out
}

fn keyspace(node: &Node) -> String {
    let mut out = String::from("# Keyspace\r\n");
    for (i, db) in node.keyspace.dbs.iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        let expires = db.values().filter(|e| e.expire_at_ms.is_some()).count();
        out.push_str(&format!(
            "db{i}:keys={},expires={expires},avg_ttl=0\r\n",
            db.len()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::bytes_to_human;

    #[test]
    fn human_sizes_like_redis() {
        // Values read off redis-server 7.0's INFO memory.
        assert_eq!(bytes_to_human(963_904), "941.31K");
        assert_eq!(bytes_to_human(0), "0B");
        assert_eq!(bytes_to_human(16 * 1024 * 1024), "16.00M");
    }
}
