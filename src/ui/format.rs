//! Replies formatted the way redis-cli prints them on a terminal (`cliFormatReplyTTY`):
//! `OK`, `(integer) 3`, `(nil)`, `"v"` with escapes, numbered (nested) arrays,
//! `(error) ERR …`, `(empty array)`.

use crate::engine::resp::Reply;

/// The lines redis-cli would print for `reply`.
pub fn reply_lines(reply: &Reply) -> Vec<String> {
    let mut out = Vec::new();
    format_into(reply, "", &mut out);
    out
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
