//! RESP2, the Redis wire protocol: the reply type, command encoding, the server-side request
//! parser (multibulk and inline, incremental, with Redis's exact protocol errors) and a reply
//! parser for the client side (a replica reading its master, the console, tests).
//!
//! Offsets matter here: a replica counts the bytes of every command it applies from its master,
//! so the request parser reports how many bytes each command occupied on the wire.

use serde::{Deserialize, Serialize};

/// Longest inline command or multibulk header line without a newline (`PROTO_INLINE_MAX_SIZE`).
pub const PROTO_INLINE_MAX_SIZE: usize = 64 * 1024;
/// Default `proto-max-bulk-len`: the largest bulk argument a client may declare.
pub const PROTO_MAX_BULK_LEN: i64 = 512 * 1024 * 1024;
/// Largest multibulk count Redis 7 accepts (`INT_MAX`): the count allocates nothing up front,
/// what a client can make the server hold is bounded by `client-query-buffer-limit`.
const PROTO_MAX_MULTIBULK_LEN: i64 = i32::MAX as i64;
/// Largest multibulk count and bulk length a client that must still authenticate may declare
/// (Redis 7.0's fix for CVE-2021-32675: `AUTH user pass` fits, a 512 MB claim does not).
pub const PROTO_UNAUTH_MAX_MULTIBULK_LEN: i64 = 10;
pub const PROTO_UNAUTH_MAX_BULK_LEN: i64 = 16 * 1024;

/// A RESP2 reply, as a server sends it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    /// `+text\r\n`
    Simple(String),
    /// `-text\r\n` (the text includes the code, e.g. `ERR …` or `WRONGTYPE …`).
    Error(String),
    /// `:n\r\n`
    Integer(i64),
    /// `$len\r\nbytes\r\n`
    Bulk(Vec<u8>),
    /// `$-1\r\n`
    Nil,
    /// `*n\r\n` followed by the elements.
    Array(Vec<Reply>),
    /// `*-1\r\n` (e.g. EXEC after a WATCH failure, BLPOP timeout).
    NilArray,
}

impl Reply {
    /// `+OK`
    pub fn ok() -> Reply {
        Reply::Simple("OK".into())
    }

    /// An error reply; `text` must already carry its code (`ERR`, `WRONGTYPE`, …).
    pub fn error(text: impl Into<String>) -> Reply {
        Reply::Error(text.into())
    }

    /// A bulk string reply from anything byte-like.
    pub fn bulk(bytes: impl AsRef<[u8]>) -> Reply {
        Reply::Bulk(bytes.as_ref().to_vec())
    }

    /// True for `-…` replies.
    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }

    /// Appends the wire encoding of this reply to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            Reply::Simple(s) => line(out, b'+', s.as_bytes()),
            Reply::Error(s) => line(out, b'-', s.as_bytes()),
            Reply::Integer(n) => line(out, b':', n.to_string().as_bytes()),
            Reply::Bulk(b) => {
                out.extend_from_slice(Header::default().write(b'$', b.len()));
                out.extend_from_slice(b);
                out.extend_from_slice(b"\r\n");
            }
            Reply::Nil => out.extend_from_slice(b"$-1\r\n"),
            Reply::Array(items) => {
                line(out, b'*', items.len().to_string().as_bytes());
                for item in items {
                    item.encode_into(out);
                }
            }
            Reply::NilArray => out.extend_from_slice(b"*-1\r\n"),
        }
    }

    /// The wire encoding of this reply.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }
}

/// A RESP header (`*<n>\r\n`, `$<len>\r\n`) formatted on the stack: every replicated
/// command needs several (its encoding, and the pieces the backlog is fed).
#[derive(Default)]
pub struct Header([u8; 24]);

impl Header {
    pub fn write(&mut self, prefix: u8, n: usize) -> &[u8] {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        let mut n = n;
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        let len = digits.len() - i;
        self.0[0] = prefix;
        self.0[1..=len].copy_from_slice(&digits[i..]);
        self.0[len + 1..len + 3].copy_from_slice(b"\r\n");
        &self.0[..len + 3]
    }
}

fn line(out: &mut Vec<u8>, prefix: u8, body: &[u8]) {
    out.push(prefix);
    out.extend_from_slice(body);
    out.extend_from_slice(b"\r\n");
}

/// Encodes a command as a RESP array of bulk strings, exactly as Redis feeds its replicas
/// (`*<argc>\r\n$<len>\r\n<arg>\r\n…`), keeping the arguments' case.
pub fn encode_command<A: AsRef<[u8]>>(argv: &[A], out: &mut Vec<u8>) {
    let mut header = Header::default();
    out.extend_from_slice(header.write(b'*', argv.len()));
    for arg in argv {
        let arg = arg.as_ref();
        out.extend_from_slice(header.write(b'$', arg.len()));
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

/// The encoded size of a command, without building it.
pub fn command_len<A: AsRef<[u8]>>(argv: &[A]) -> usize {
    fn header(n: usize) -> usize {
        1 + n.to_string().len() + 2
    }
    header(argv.len())
        + argv
            .iter()
            .map(|a| header(a.as_ref().len()) + a.as_ref().len() + 2)
            .sum::<usize>()
}

/// A protocol error: the client gets `-ERR Protocol error: <reason>` and is disconnected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtocolError(pub String);

impl ProtocolError {
    /// The error reply Redis sends before closing the connection.
    pub fn reply(&self) -> Reply {
        Reply::Error(format!("ERR Protocol error: {}", self.0))
    }
}

/// One parsed request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The arguments; empty for an empty inline line (which Redis just skips).
    pub argv: Vec<Vec<u8>>,
    /// Bytes this request occupied in the stream.
    pub wire_len: usize,
    /// Whether it came in inline form (`PING\r\n`) rather than as a multibulk.
    pub inline: bool,
}

/// Incremental server-side request parser, the equivalent of Redis's query buffer processing
/// (`processMultibulkBuffer` / `processInlineBuffer`). Bytes may be split anywhere.
#[derive(Clone, Debug, Default)]
pub struct RequestParser {
    buf: Vec<u8>,
    /// Read position in `buf` of the request being parsed.
    pos: usize,
    /// Start of the request being parsed.
    start: usize,
    /// Remaining bulk arguments of the current multibulk (0: none in progress).
    multibulk_len: usize,
    /// Declared length of the bulk being read, if its header was parsed.
    bulk_len: Option<usize>,
    argv: Vec<Vec<u8>>,
    max_bulk_len: i64,
    /// The client has yet to authenticate: the CVE-2021-32675 limits apply.
    unauthenticated: bool,
    /// Argument buffers of finished commands, reused for the next ones (see
    /// [`RequestParser::recycle`]), and an emptied argument list.
    spare: Vec<Vec<u8>>,
    spare_list: Vec<Vec<u8>>,
}

/// `PROTO_RESIZE_THRESHOLD`: a query buffer whose capacity is past this is not kept once
/// everything in it is consumed (a big argument came and went), nor while it idles.
pub const PROTO_RESIZE_THRESHOLD: usize = 32 * 1024;
/// Spare capacity a query buffer may keep, as `clientsCronResizeQueryBuffer` leaves a buffer
/// wasting less than 4 KB alone.
const QUERYBUF_SPARE_MAX: usize = 4 * 1024;

/// How many argument buffers a parser keeps for reuse, and the largest it keeps: enough for
/// a pipeline of ordinary commands, without holding on to a huge value's memory.
const SPARE_ARGS: usize = 64;
const SPARE_ARG_CAPACITY: usize = 4096;

impl RequestParser {
    /// Bytes of memory its buffer holds.
    pub fn buffer_bytes(&self) -> usize {
        self.buf.capacity()
    }

    /// A parser with Redis's default `proto-max-bulk-len`.
    pub fn new() -> Self {
        RequestParser {
            max_bulk_len: PROTO_MAX_BULK_LEN,
            ..Default::default()
        }
    }

    /// Whether the client must still authenticate (Redis's `authRequired`), checked before
    /// each header is parsed: an unauthenticated client may not declare more than
    /// [`PROTO_UNAUTH_MAX_MULTIBULK_LEN`] arguments of [`PROTO_UNAUTH_MAX_BULK_LEN`] bytes.
    pub fn set_unauthenticated(&mut self, unauthenticated: bool) {
        self.unauthenticated = unauthenticated;
    }

    /// Sets `proto-max-bulk-len` for the next bulk headers.
    pub fn set_max_bulk_len(&mut self, max: u64) {
        self.max_bulk_len = i64::try_from(max).unwrap_or(i64::MAX);
    }

    /// Appends received bytes to the query buffer.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes received but not yet consumed by a complete request.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Takes the unconsumed bytes out of the parser (used when a connection stops speaking
    /// RESP, e.g. a replica switching to reading an RDB payload).
    pub fn take_pending(&mut self) -> Vec<u8> {
        let rest = self.buf.split_off(self.start);
        *self = RequestParser {
            max_bulk_len: self.max_bulk_len,
            ..Default::default()
        };
        rest
    }

    /// Gives back the arguments of a command that has run: the next requests are parsed
    /// into the same buffers, so a long pipeline allocates nothing per argument.
    pub fn recycle(&mut self, mut argv: Vec<Vec<u8>>) {
        for mut arg in argv.drain(..) {
            if self.spare.len() < SPARE_ARGS && arg.capacity() <= SPARE_ARG_CAPACITY {
                arg.clear();
                self.spare.push(arg);
            }
        }
        if argv.capacity() <= SPARE_ARGS {
            self.spare_list = argv;
        }
    }

    /// Gives back the memory the query buffer does not use (`clientsCronResizeQueryBuffer`
    /// for an idle client): what is not consumed yet stays, the spare capacity goes.
    pub fn trim(&mut self) {
        self.compact();
        if self.buf.capacity() - self.buf.len() > QUERYBUF_SPARE_MAX {
            self.buf.shrink_to_fit();
        }
    }

    /// Parses the next complete request, `Ok(None)` if more bytes are needed.
    pub fn next_request(&mut self) -> Result<Option<Request>, ProtocolError> {
        if self.start == self.buf.len() {
            self.compact();
            // A big argument was consumed: its buffer goes rather than stay with the client.
            if self.buf.capacity() > PROTO_RESIZE_THRESHOLD {
                self.buf = Vec::new();
            }
            return Ok(None);
        }
        let inline = self.multibulk_len == 0 && self.buf[self.start] != b'*';
        let parsed = if inline {
            self.parse_inline()?
        } else {
            self.parse_multibulk()?
        };
        Ok(parsed.map(|argv| {
            let wire_len = self.pos - self.start;
            self.start = self.pos;
            if self.start > 64 * 1024 {
                self.compact();
            }
            Request {
                argv,
                wire_len,
                inline,
            }
        }))
    }

    fn compact(&mut self) {
        self.buf.drain(..self.start);
        self.pos -= self.start;
        self.start = 0;
    }

    fn find_crlf(&self, from: usize) -> Option<usize> {
        self.buf[from..]
            .windows(2)
            .position(|w| w == b"\r\n")
            .map(|i| from + i)
    }

    fn parse_inline(&mut self) -> Result<Option<Vec<Vec<u8>>>, ProtocolError> {
        let Some(nl) = self.buf[self.start..].iter().position(|&b| b == b'\n') else {
            if self.buf.len() - self.start > PROTO_INLINE_MAX_SIZE {
                return Err(ProtocolError("too big inline request".into()));
            }
            return Ok(None);
        };
        let mut line = &self.buf[self.start..self.start + nl];
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        let argv =
            split_args(line).ok_or_else(|| ProtocolError("unbalanced quotes in request".into()))?;
        self.pos = self.start + nl + 1;
        Ok(Some(argv))
    }

    fn parse_multibulk(&mut self) -> Result<Option<Vec<Vec<u8>>>, ProtocolError> {
        if self.multibulk_len == 0 {
            let Some(cr) = self.find_crlf(self.start) else {
                if self.buf.len() - self.start > PROTO_INLINE_MAX_SIZE {
                    return Err(ProtocolError("too big mbulk count string".into()));
                }
                return Ok(None);
            };
            let count = parse_i64(&self.buf[self.start + 1..cr])
                .filter(|&n| n <= PROTO_MAX_MULTIBULK_LEN)
                .ok_or_else(|| ProtocolError("invalid multibulk length".into()))?;
            if count > PROTO_UNAUTH_MAX_MULTIBULK_LEN && self.unauthenticated {
                return Err(ProtocolError("unauthenticated multibulk length".into()));
            }
            self.pos = cr + 2;
            if count <= 0 {
                return Ok(Some(Vec::new()));
            }
            self.multibulk_len = count as usize;
            self.argv = std::mem::take(&mut self.spare_list);
            self.argv.reserve(self.multibulk_len.min(1024));
        }
        while self.multibulk_len > 0 {
            let len = match self.bulk_len {
                Some(len) => len,
                None => {
                    let Some(cr) = self.find_crlf(self.pos) else {
                        if self.buf.len() - self.pos > PROTO_INLINE_MAX_SIZE {
                            return Err(ProtocolError("too big bulk count string".into()));
                        }
                        return Ok(None);
                    };
                    if self.buf[self.pos] != b'$' {
                        return Err(ProtocolError(format!(
                            "expected '$', got '{}'",
                            self.buf[self.pos] as char
                        )));
                    }
                    let len = parse_i64(&self.buf[self.pos + 1..cr])
                        .filter(|&n| (0..=self.max_bulk_len).contains(&n))
                        .ok_or_else(|| ProtocolError("invalid bulk length".into()))?;
                    if len > PROTO_UNAUTH_MAX_BULK_LEN && self.unauthenticated {
                        return Err(ProtocolError("unauthenticated bulk length".into()));
                    }
                    self.pos = cr + 2;
                    self.bulk_len = Some(len as usize);
                    len as usize
                }
            };
            if self.buf.len() - self.pos < len + 2 {
                return Ok(None);
            }
            let mut arg = self.spare.pop().unwrap_or_default();
            arg.extend_from_slice(&self.buf[self.pos..self.pos + len]);
            self.argv.push(arg);
            self.pos += len + 2;
            self.bulk_len = None;
            self.multibulk_len -= 1;
        }
        Ok(Some(std::mem::take(&mut self.argv)))
    }
}

/// Parses a decimal integer the way Redis's `string2ll` does (no spaces, no `+`, no leading zeros).
/// Works on the bytes: every bulk header of every request goes through it.
pub fn parse_i64(bytes: &[u8]) -> Option<i64> {
    let (negative, digits) = match bytes {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, bytes),
    };
    match digits {
        [] => return None,
        [b'0'] if !negative => return Some(0),
        [b'0', ..] => return None,
        _ => {}
    }
    // Accumulated with the sign so that i64::MIN parses and anything beyond overflows.
    digits.iter().try_fold(0i64, |n, &d| {
        if !d.is_ascii_digit() {
            return None;
        }
        let d = i64::from(d - b'0');
        let n = n.checked_mul(10)?;
        if negative {
            n.checked_sub(d)
        } else {
            n.checked_add(d)
        }
    })
}

/// Splits a line into arguments like Redis's `sdssplitargs` (used for inline commands and by
/// redis-cli): whitespace separates, `"…"` understands `\n \r \t \b \a \\ \" \xHH`, `'…'`
/// understands `\'`; a closing quote must be followed by a space or the end. `None` on
/// unbalanced quotes.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while i < line.len() && line[i].is_ascii_whitespace() {
            i += 1;
        }
        if i == line.len() {
            return Some(args);
        }
        let mut arg = Vec::new();
        let (mut in_dq, mut in_sq) = (false, false);
        loop {
            if in_dq {
                let c = *line.get(i)?;
                if c == b'\\' && i + 3 < line.len() && line[i + 1] == b'x' {
                    let hex = |b: u8| (b as char).to_digit(16);
                    if let (Some(h), Some(l)) = (hex(line[i + 2]), hex(line[i + 3])) {
                        arg.push((h * 16 + l) as u8);
                        i += 4;
                        continue;
                    }
                }
                if c == b'\\' && i + 1 < line.len() {
                    i += 1;
                    arg.push(match line[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    });
                } else if c == b'"' {
                    if i + 1 < line.len() && !line[i + 1].is_ascii_whitespace() {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    arg.push(c);
                }
                i += 1;
            } else if in_sq {
                let c = *line.get(i)?;
                if c == b'\\' && line.get(i + 1) == Some(&b'\'') {
                    arg.push(b'\'');
                    i += 2;
                    continue;
                }
                if c == b'\'' {
                    if i + 1 < line.len() && !line[i + 1].is_ascii_whitespace() {
                        return None;
                    }
                    i += 1;
                    break;
                }
                arg.push(c);
                i += 1;
            } else {
                match line.get(i) {
                    None => break,
                    Some(c) if c.is_ascii_whitespace() => break,
                    Some(b'"') => in_dq = true,
                    Some(b'\'') => in_sq = true,
                    Some(&c) => arg.push(c),
                }
                i += 1;
            }
        }
        args.push(arg);
    }
}

/// Parses one complete reply from the front of `buf`: `Ok(Some((reply, bytes_used)))`,
/// `Ok(None)` if incomplete, `Err` if `buf` does not start with a valid RESP2 reply.
pub fn parse_reply(buf: &[u8]) -> Result<Option<(Reply, usize)>, ProtocolError> {
    let Some(cr) = buf.windows(2).position(|w| w == b"\r\n") else {
        return Ok(None);
    };
    let Some(&kind) = buf.first() else {
        return Ok(None);
    };
    let body = &buf[1..cr];
    let text = || String::from_utf8_lossy(body).into_owned();
    let int = || {
        std::str::from_utf8(body)
            .ok()
            .and_then(|s| s.parse::<i64>().ok())
            .ok_or_else(|| ProtocolError(format!("bad integer in reply: {}", text())))
    };
    let after = cr + 2;
    Ok(Some(match kind {
        b'+' => (Reply::Simple(text()), after),
        b'-' => (Reply::Error(text()), after),
        b':' => (Reply::Integer(int()?), after),
        b'$' => match int()? {
            -1 => (Reply::Nil, after),
            n if n < 0 => return Err(ProtocolError(format!("bad bulk length {n}"))),
            n => {
                let n = n as usize;
                if buf.len() < after + n + 2 {
                    return Ok(None);
                }
                if &buf[after + n..after + n + 2] != b"\r\n" {
                    return Err(ProtocolError("bulk not terminated by CRLF".into()));
                }
                (Reply::Bulk(buf[after..after + n].to_vec()), after + n + 2)
            }
        },
        b'*' => match int()? {
            -1 => (Reply::NilArray, after),
            n if n < 0 => return Err(ProtocolError(format!("bad array length {n}"))),
            n => {
                let mut items = Vec::with_capacity((n as usize).min(1024));
                let mut used = after;
                for _ in 0..n {
                    match parse_reply(&buf[used..])? {
                        Some((item, len)) => {
                            items.push(item);
                            used += len;
                        }
                        None => return Ok(None),
                    }
                }
                (Reply::Array(items), used)
            }
        },
        other => {
            return Err(ProtocolError(format!(
                "unexpected reply type byte 0x{other:02x}"
            )))
        }
    }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn parse_i64_follows_string2ll() {
        use super::parse_i64;
        for ok in [
            "0",
            "7",
            "-7",
            "10",
            "9223372036854775807",
            "-9223372036854775808",
        ] {
            assert_eq!(parse_i64(ok.as_bytes()), ok.parse().ok(), "{ok}");
        }
        for bad in [
            "",
            "-",
            "+1",
            "01",
            "-0",
            "-01",
            "00",
            " 1",
            "1 ",
            "1a",
            "9223372036854775808",
            "-9223372036854775809",
            "١",
        ] {
            assert_eq!(parse_i64(bad.as_bytes()), None, "{bad:?}");
        }
    }

    use super::*;
    use proptest::prelude::*;

    fn parse_all(bytes: &[u8]) -> Result<Vec<Request>, ProtocolError> {
        let mut p = RequestParser::new();
        p.feed(bytes);
        let mut out = Vec::new();
        while let Some(r) = p.next_request()? {
            out.push(r);
        }
        Ok(out)
    }

    #[test]
    fn fixed_sizes_from_the_spec() {
        let sizes: [(&[&str], usize); 5] = [
            (&["ping"], 14),
            (&["SELECT", "0"], 23),
            (&["REPLCONF", "GETACK", "*"], 37),
            (&["MULTI"], 15),
            (&["SET", "foo", "bar"], 31),
        ];
        for (argv, size) in sizes {
            let mut out = Vec::new();
            encode_command(argv, &mut out);
            assert_eq!(out.len(), size, "{argv:?}");
            assert_eq!(command_len(argv), size, "{argv:?}");
        }
    }

    #[test]
    fn inline_and_multibulk_with_wire_lengths() {
        let reqs = parse_all(b"PING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n\r\nset a 'b c'\n").unwrap();
        let argvs: Vec<Vec<Vec<u8>>> = reqs.iter().map(|r| r.argv.clone()).collect();
        assert_eq!(
            argvs,
            vec![
                vec![b"PING".to_vec()],
                vec![b"GET".to_vec(), b"k".to_vec()],
                vec![],
                vec![b"set".to_vec(), b"a".to_vec(), b"b c".to_vec()]
            ]
        );
        let lens: Vec<usize> = reqs.iter().map(|r| r.wire_len).collect();
        assert_eq!(lens, vec![6, 20, 2, 12]);
    }

    #[test]
    fn protocol_errors_are_worded_like_redis() {
        let err = |b: &[u8]| parse_all(b).unwrap_err().reply();
        assert_eq!(
            err(b"*x\r\n"),
            Reply::error("ERR Protocol error: invalid multibulk length")
        );
        assert_eq!(
            err(b"*1\r\n+PING\r\n"),
            Reply::error("ERR Protocol error: expected '$', got '+'")
        );
        assert_eq!(
            err(b"*1\r\n$-3\r\n"),
            Reply::error("ERR Protocol error: invalid bulk length")
        );
        assert_eq!(
            err(b"*1\r\n$536870913\r\n"),
            Reply::error("ERR Protocol error: invalid bulk length")
        );
        assert_eq!(
            err(b"SET a \"b\r\n"),
            Reply::error("ERR Protocol error: unbalanced quotes in request")
        );
        assert_eq!(
            err(&vec![b'a'; PROTO_INLINE_MAX_SIZE + 1]),
            Reply::error("ERR Protocol error: too big inline request")
        );
    }

    #[test]
    fn unauthenticated_clients_declare_little_and_others_up_to_int_max() {
        let mut p = RequestParser::new();
        p.set_unauthenticated(true);
        p.feed(b"*10\r\n$16384\r\n");
        assert_eq!(p.next_request(), Ok(None));
        let err = |b: &[u8]| {
            let mut p = RequestParser::new();
            p.set_unauthenticated(true);
            p.feed(b);
            p.next_request().unwrap_err().reply()
        };
        assert_eq!(
            err(b"*11\r\n"),
            Reply::error("ERR Protocol error: unauthenticated multibulk length")
        );
        assert_eq!(
            err(b"*1\r\n$16385\r\n"),
            Reply::error("ERR Protocol error: unauthenticated bulk length")
        );
        let mut p = RequestParser::new();
        p.feed(b"*2147483647\r\n");
        assert_eq!(p.next_request(), Ok(None));
        assert_eq!(
            parse_all(b"*2147483648\r\n").unwrap_err().0,
            "invalid multibulk length"
        );
    }

    #[test]
    fn huge_declared_bulk_allocates_nothing_until_bytes_arrive() {
        let mut p = RequestParser::new();
        p.feed(b"*1\r\n$536870912\r\nab");
        assert_eq!(p.next_request(), Ok(None));
        assert!(p.buf.capacity() < 1024);
    }

    #[test]
    fn split_args_handles_quotes_and_escapes() {
        let args = split_args(br#"set "a\x41\n" 'it\'s' plain"#).unwrap();
        assert_eq!(
            args,
            vec![
                b"set".to_vec(),
                b"aA\n".to_vec(),
                b"it's".to_vec(),
                b"plain".to_vec()
            ]
        );
        assert_eq!(split_args(br#""a"b"#), None);
        assert_eq!(split_args(b"'open"), None);
        assert_eq!(split_args(b"   "), Some(vec![]));
    }

    fn arb_reply() -> impl Strategy<Value = Reply> {
        let leaf = prop_oneof![
            "[a-zA-Z0-9 ]{0,20}".prop_map(Reply::Simple),
            "ERR [a-z ]{0,20}".prop_map(Reply::Error),
            any::<i64>().prop_map(Reply::Integer),
            proptest::collection::vec(any::<u8>(), 0..40).prop_map(Reply::Bulk),
            Just(Reply::Nil),
            Just(Reply::NilArray),
        ];
        leaf.prop_recursive(3, 32, 6, |inner| {
            proptest::collection::vec(inner, 0..6).prop_map(Reply::Array)
        })
    }

    proptest! {
        #[test]
        fn replies_round_trip(reply in arb_reply()) {
            let bytes = reply.encode();
            prop_assert_eq!(parse_reply(&bytes).unwrap(), Some((reply, bytes.len())));
            for cut in 0..bytes.len() {
                prop_assert_eq!(parse_reply(&bytes[..cut]).unwrap(), None);
            }
        }

        #[test]
        fn commands_parse_identically_under_any_split(
            cmds in proptest::collection::vec(
                proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..30), 1..5), 1..6),
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
        ) {
            let mut wire = Vec::new();
            for c in &cmds { encode_command(c, &mut wire); }
            let mut points: Vec<usize> = cuts.iter().map(|i| i.index(wire.len() + 1)).collect();
            points.push(0);
            points.push(wire.len());
            points.sort();
            let mut p = RequestParser::new();
            let mut got = Vec::new();
            for w in points.windows(2) {
                p.feed(&wire[w[0]..w[1]]);
                while let Some(r) = p.next_request().unwrap() {
                    prop_assert_eq!(r.wire_len, command_len(&r.argv));
                    got.push(r.argv);
                }
            }
            prop_assert_eq!(got, cmds);
            prop_assert_eq!(p.pending(), 0);
        }

        #[test]
        fn request_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_all(&bytes);
            let _ = parse_reply(&bytes);
        }
    }
}
