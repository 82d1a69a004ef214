//! What a segment's bytes say, for the packet inspector: RESP commands and replies as
//! redis-cli would write them, the keepalive newlines, the `$EOF:` mark of a diskless RDB
//! and the RDB's outline (version, AUX fields, keys). A segment is only its first
//! [`super::trace::HEAD_BYTES`] bytes in the trace, so the words stop where those do.

use super::redis_cli::quoted;
use crate::engine::rdb;
use crate::engine::resp::{parse_reply, Reply};

/// Lines the inspector shows at most.
const MAX_LINES: usize = 40;

/// The words of `head`, the first bytes of a segment of `len` bytes.
pub fn decode(head: &[u8], len: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = head;
    while !rest.is_empty() && out.len() < MAX_LINES {
        let newlines = rest.iter().take_while(|b| **b == b'\n').count();
        if newlines > 0 {
            out.push("\\n (keepalive: the master is still preparing the RDB)".into());
            rest = &rest[newlines..];
            continue;
        }
        if let Some(mark) = rest.strip_prefix(b"$EOF:") {
            out.push("$EOF:<40-byte mark> (a diskless RDB: it ends with the same mark)".into());
            rest = mark.get(42..).unwrap_or_default();
            out.extend(rdb::outline(rest));
            break;
        }
        if rest.starts_with(b"REDIS") {
            out.extend(rdb::outline(rest));
            break;
        }
        match parse_reply(rest) {
            // `$<len>` then the RDB of a disk-based full sync.
            Ok(None) if rest.starts_with(b"$") && rest.windows(5).any(|w| w == b"REDIS") => {
                let at = rest.windows(5).position(|w| w == b"REDIS").unwrap_or(0);
                let size = String::from_utf8_lossy(&rest[1..at]).trim().to_string();
                out.push(format!("${size} (an RDB of {size} bytes follows)"));
                out.extend(rdb::outline(&rest[at..]));
                break;
            }
            Ok(Some((reply, used))) => {
                out.push(words(&reply));
                rest = &rest[used..];
            }
            Ok(None) => {
                out.push("… (this command goes on in bytes not shown)".into());
                break;
            }
            Err(_) => {
                out.push(format!("{} bytes that are not RESP", rest.len()));
                break;
            }
        }
    }
    if len > head.len() {
        out.push(format!("… and {} more bytes", len - head.len()));
    }
    out
}

/// A command (an array of bulk strings) as typed, a reply as redis-cli shows it.
fn words(reply: &Reply) -> String {
    match reply {
        Reply::Array(items) if items.iter().all(|i| matches!(i, Reply::Bulk(_))) => items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Reply::Bulk(b) if i == 0 => String::from_utf8_lossy(b).to_uppercase(),
                Reply::Bulk(b) if b.iter().all(|c| c.is_ascii_graphic()) && !b.is_empty() => {
                    String::from_utf8_lossy(b).into_owned()
                }
                Reply::Bulk(b) => quoted(b),
                _ => String::new(),
            })
            .collect::<Vec<_>>()
            .join(" "),
        Reply::Simple(s) => format!("+{s}"),
        Reply::Error(e) => format!("-{e}"),
        Reply::Integer(n) => format!(":{n}"),
        Reply::Bulk(b) => quoted(b),
        Reply::Nil => "(nil)".into(),
        Reply::Array(items) => format!("array of {}", items.len()),
        Reply::NilArray => "(nil array)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_replies_and_an_rdb_read_as_words() {
        let stream = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$5\r\nkey:1\r\n$5\r\nhello\r\n*3\r\n$3\r\nSET\r\n$1\r\nk";
        assert_eq!(
            decode(stream, 200),
            vec![
                "SELECT 0",
                "SET key:1 hello",
                "… (this command goes on in bytes not shown)",
                &format!("… and {} more bytes", 200 - stream.len()),
            ]
        );
        assert_eq!(decode(b"+CONTINUE abc\r\n", 15), vec!["+CONTINUE abc"]);
        assert_eq!(
            decode(b"*3\r\n$3\r\nset\r\n$1\r\nk\r\n$3\r\na b\r\n", 30),
            vec!["SET k \"a b\"", "… and 1 more bytes"]
        );

        use crate::engine::keyspace::{Entry, Keyspace, Value};
        let mut ks = Keyspace::default();
        ks.db_mut(0).insert(
            b"user:1".to_vec(),
            Entry {
                value: Value::String(b"ada".to_vec()),
                expire_at_ms: None,
            },
        );
        let opts = rdb::SaveOptions {
            redis_ver: "7.0.15",
            ctime_secs: 0,
            used_mem: 0,
            rdbcompression: true,
            repl: None,
        };
        let bytes = rdb::save(&ks, &opts);
        let mut diskless = b"\n+FULLRESYNC 8de1 0\r\n$EOF:".to_vec();
        diskless.extend([b'x'; 40]);
        diskless.extend(b"\r\n");
        diskless.extend(&bytes);
        let words = decode(&diskless, diskless.len());
        assert!(words[0].starts_with("\\n (keepalive"), "{words:?}");
        assert_eq!(words[1], "+FULLRESYNC 8de1 0");
        assert!(words[2].starts_with("$EOF:"), "{words:?}");
        assert!(words[3].starts_with("RDB version "), "{words:?}");
        assert!(
            words.iter().any(|w| w.starts_with("AUX \"redis-ver\"")),
            "{words:?}"
        );
        assert!(
            words.contains(&"key \"user:1\" = \"ada\"".to_string()),
            "{words:?}"
        );
        assert_eq!(
            words.last().map(String::as_str),
            Some("EOF (then the CRC64 checksum)")
        );

        let mut disk = format!("${}\r\n", bytes.len()).into_bytes();
        disk.extend(&bytes[..30]);
        let words = decode(&disk, bytes.len() + 10);
        assert_eq!(
            words[0],
            format!("${} (an RDB of {} bytes follows)", bytes.len(), bytes.len())
        );
        assert!(words.last().unwrap().starts_with("… and "));
    }
}
