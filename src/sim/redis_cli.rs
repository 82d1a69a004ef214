//! Replies formatted the way redis-cli prints them on a terminal: `cliFormatReplyTTY`
//! (`OK`, `(integer) 3`, `(nil)`, `"v"` with escapes, numbered (nested) arrays,
//! `(error) ERR …`, `(empty array)`), except for the commands redis-cli prints raw
//! (`cliFormatReplyRaw`: `INFO`'s lines as they are, not one escaped string).

use crate::engine::resp::Reply;

/// The lines redis-cli prints for `reply` to the command `argv`.
pub fn reply_lines(argv: &[Vec<u8>], reply: &Reply) -> Vec<String> {
    let mut out = Vec::new();
    if prints_raw(argv) {
        let mut text = String::new();
        raw_into(reply, &mut text);
        out.extend(text.lines().map(str::to_string));
    } else {
        format_into(reply, "", &mut out);
    }
    out
}

/// redis-cli 7.0's `cliSendCommand`: the commands whose replies it prints raw.
fn prints_raw(argv: &[Vec<u8>]) -> bool {
    let arg = |i: usize| argv.get(i).map(|a| a.to_ascii_lowercase());
    let (command, sub) = (arg(0).unwrap_or_default(), arg(1).unwrap_or_default());
    let (n, sub) = (argv.len(), sub.as_slice());
    match command.as_slice() {
        b"info" | b"lolwut" => true,
        b"debug" => n >= 2 && matches!(sub, b"htstats" | b"htstats-key" | b"client-eviction"),
        b"memory" => n >= 2 && matches!(sub, b"malloc-stats" | b"doctor"),
        b"cluster" => n == 2 && matches!(sub, b"nodes" | b"info"),
        b"client" => n >= 2 && matches!(sub, b"list" | b"info"),
        b"latency" => (n == 3 && sub == b"graph") || (n == 2 && sub == b"doctor"),
        _ => false,
    }
}

/// `cliFormatReplyRaw`: strings and errors as they are, integers as digits, nothing for
/// nil, array elements one per line.
fn raw_into(reply: &Reply, out: &mut String) {
    match reply {
        Reply::Simple(s) => out.push_str(s),
        Reply::Error(e) => {
            out.push_str(e);
            out.push('\n');
        }
        Reply::Integer(n) => out.push_str(&n.to_string()),
        Reply::Bulk(b) => out.push_str(&String::from_utf8_lossy(b)),
        Reply::Nil | Reply::NilArray => {}
        Reply::Array(items) => {
            for item in items {
                raw_into(item, out);
                out.push('\n');
            }
        }
    }
}

fn format_into(reply: &Reply, prefix: &str, out: &mut Vec<String>) {
    match reply {
        Reply::Simple(s) => out.push(format!("{prefix}{s}")),
        Reply::Error(e) => out.push(format!("{prefix}(error) {e}")),
        Reply::Integer(n) => out.push(format!("{prefix}(integer) {n}")),
        Reply::Bulk(b) => out.push(format!("{prefix}{}", quoted(b))),
        Reply::Nil | Reply::NilArray => out.push(format!("{prefix}(nil)")),
        Reply::Array(items) if items.is_empty() => out.push(format!("{prefix}(empty array)")),
        Reply::Array(items) => {
            let width = items.len().to_string().len();
            let pad = " ".repeat(prefix.chars().count());
            for (i, item) in items.iter().enumerate() {
                let label = format!("{:>width$}) ", i + 1);
                let first = if i == 0 {
                    prefix.to_string()
                } else {
                    pad.clone()
                };
                let mut lines = Vec::new();
                format_into(item, &format!("{first}{label}"), &mut lines);
                // Continuation lines of a nested array align under the element.
                out.extend(lines);
            }
        }
    }
}

/// `sdscatrepr`: a quoted string with `\n`, `\r`, `\t`, `\a`, `\b`, `\\`, `\"` and `\xhh`.
pub fn quoted(bytes: &[u8]) -> String {
    let mut s = String::from("\"");
    for &b in bytes {
        match b {
            b'\\' => s.push_str("\\\\"),
            b'"' => s.push_str("\\\""),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            7 => s.push_str("\\a"),
            8 => s.push_str("\\b"),
            b if b.is_ascii_graphic() || b == b' ' => s.push(b as char),
            b => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s.push('"');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(line: &str) -> Vec<Vec<u8>> {
        line.split(' ').map(|a| a.as_bytes().to_vec()).collect()
    }

    #[test]
    fn info_prints_its_lines_and_other_strings_print_quoted() {
        let info = Reply::Bulk(b"# Replication\r\nrole:master\r\nconnected_slaves:1\r\n".to_vec());
        assert_eq!(
            reply_lines(&argv("info replication"), &info),
            ["# Replication", "role:master", "connected_slaves:1"]
        );
        assert_eq!(
            reply_lines(&argv("GET k"), &info),
            [r##""# Replication\r\nrole:master\r\nconnected_slaves:1\r\n""##]
        );
        assert_eq!(
            reply_lines(
                &argv("CLIENT LIST"),
                &Reply::Bulk(b"id=3 addr=x\nid=4 addr=y\n".to_vec())
            ),
            ["id=3 addr=x", "id=4 addr=y"]
        );
        // CLUSTER INFO only with exactly two words, as redis-cli checks.
        assert!(prints_raw(&argv("cluster info")));
        assert!(!prints_raw(&argv("cluster info x")));
    }

    #[test]
    fn tty_replies_number_nested_arrays() {
        let r = Reply::Array(vec![
            Reply::Integer(1),
            Reply::Array(vec![Reply::Bulk(b"a".to_vec()), Reply::Nil]),
            Reply::Error("ERR x".into()),
        ]);
        assert_eq!(
            reply_lines(&argv("EXEC"), &r),
            [
                "1) (integer) 1",
                "2) 1) \"a\"",
                "   2) (nil)",
                "3) (error) ERR x"
            ]
        );
    }
}
