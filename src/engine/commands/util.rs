//! Shared replies, number parsing and formatting, glob matching — each mirroring the Redis
//! helper named in its doc comment, because error strings and number formats are part of
//! what replicas and students see.

use crate::engine::resp::{parse_i64, Reply};

/// `shared.wrongtypeerr`.
pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
/// `shared.syntaxerr`.
pub const SYNTAX: &str = "ERR syntax error";
/// `getLongLongFromObjectOrReply`'s default message.
pub const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
/// `getDoubleFromObjectOrReply` / `getLongDoubleFromObjectOrReply`'s default message.
pub const NOT_FLOAT: &str = "ERR value is not a valid float";
/// `getPositiveLongFromObjectOrReply`'s message (also used for non-integers).
pub const NOT_POSITIVE: &str = "ERR value is out of range, must be positive";
/// `incrDecrCommand` / `hincrbyCommand`.
pub const OVERFLOW: &str = "ERR increment or decrement would overflow";

pub fn err(text: &str) -> Reply {
    Reply::Error(text.to_string())
}

pub fn wrongtype() -> Reply {
    err(WRONGTYPE)
}

pub fn syntax() -> Reply {
    err(SYNTAX)
}

/// `addReplyErrorExpireTime`.
pub fn invalid_expire(cmd: &str) -> Reply {
    Reply::Error(format!("ERR invalid expire time in '{cmd}' command"))
}

/// `getLongLongFromObjectOrReply` (`string2ll`; `long` is 64-bit on Redis's platforms).
pub fn i64_arg(arg: &[u8]) -> Result<i64, Reply> {
    parse_i64(arg).ok_or_else(|| err(NOT_INTEGER))
}

/// `getPositiveLongFromObjectOrReply(…, NULL)`: any failure says "must be positive".
pub fn positive_arg(arg: &[u8]) -> Result<i64, Reply> {
    match parse_i64(arg) {
        Some(n) if n >= 0 => Ok(n),
        _ => Err(err(NOT_POSITIVE)),
    }
}

/// Case-insensitive ASCII comparison (`strcasecmp` on an argument).
pub fn eq_ic(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

/// Integer reply from a count.
pub fn int(n: usize) -> Reply {
    Reply::Integer(i64::try_from(n).unwrap_or(i64::MAX))
}

/// `strtod` on the whole argument: leading whitespace allowed, the rest must be consumed.
/// An empty string converts to 0 (no conversion, `eptr` already at the NUL) — which
/// `zslParseRange` accepts. `inf`/`infinity`/`nan` are understood as by glibc; out-of-range
/// values saturate to ±inf / 0 like `strtod` does (callers check `ERANGE` where Redis does).
pub fn strtod(arg: &[u8]) -> Option<f64> {
    if arg.is_empty() {
        return Some(0.0);
    }
    let start = arg
        .iter()
        .position(|b| !is_c_space(*b))
        .unwrap_or(arg.len());
    let rest = std::str::from_utf8(&arg[start..]).ok()?;
    if rest.is_empty() {
        return None;
    }
    parse_c_float(rest).map(|(v, _)| v)
}

/// `string2d` (util.c): no leading space, whole string, no NaN, no overflow/underflow.
pub fn string2d(arg: &[u8]) -> Option<f64> {
    if arg.is_empty() || is_c_space(arg[0]) {
        return None;
    }
    let s = std::str::from_utf8(arg).ok()?;
    let (v, erange) = parse_c_float(s)?;
    if v.is_nan() || erange {
        return None;
    }
    Some(v)
}

/// C `isspace`.
pub fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// Parses a complete C float literal (decimal, `inf`, `infinity`, `nan`, optional sign).
/// Returns the value and whether it is an `ERANGE` result Redis refuses (overflow to ±inf or
/// underflow to 0 of a non-zero literal). Hex floats are not supported (documented).
fn parse_c_float(s: &str) -> Option<(f64, bool)> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let lower = body.to_ascii_lowercase();
    if lower == "inf" || lower == "infinity" || lower == "nan" {
        let v: f64 = s.parse().ok()?;
        return Some((v, false));
    }
    // Only the C decimal grammar: digits, optional '.', optional exponent.
    let bytes = body.as_bytes();
    let mut i = 0;
    let mut digits = 0;
    let mut nonzero = false;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        nonzero |= bytes[i] != b'0';
        i += 1;
        digits += 1;
    }
    if i < bytes.len() && bytes[i] == b'.' {
        i += 1;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            nonzero |= bytes[i] != b'0';
            i += 1;
            digits += 1;
        }
    }
    if digits == 0 {
        return None;
    }
    if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
        let mut j = i + 1;
        if j < bytes.len() && (bytes[j] == b'+' || bytes[j] == b'-') {
            j += 1;
        }
        let exp_start = j;
        while j < bytes.len() && bytes[j].is_ascii_digit() {
            j += 1;
        }
        if j == exp_start {
            return None; // "1e" leaves the 'e' unconsumed: not a full match
        }
        i = j;
    }
    if i != bytes.len() {
        return None;
    }
    let v: f64 = s.parse().ok()?;
    // glibc also sets ERANGE for a subnormal result, but Redis only refuses ±HUGE_VAL and 0.
    let erange = v.is_infinite() || (v == 0.0 && nonzero);
    Some((v, erange))
}

/// `printf("%.17g", d)`, as `addReplyDouble` formats scores in RESP2 (inf as `inf`/`-inf`).
pub fn fmt_g17(d: f64) -> String {
    if d.is_nan() {
        return "nan".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if d == 0.0 {
        return if d.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    const P: i32 = 17;
    let sci = format!("{:.*e}", (P - 1) as usize, d);
    let (mantissa, exp) = match sci.split_once('e') {
        Some(parts) => parts,
        None => return sci,
    };
    let x: i32 = exp.parse().unwrap_or(0);
    if (-4..P).contains(&x) {
        let prec = usize::try_from(P - 1 - x).unwrap_or(0);
        strip_zeros(format!("{:.*}", prec, d))
    } else {
        let m = strip_zeros(mantissa.to_string());
        let sign = if x < 0 { '-' } else { '+' };
        format!("{m}e{sign}{:02}", x.abs())
    }
}

/// `%g` drops trailing zeros of the fraction and a bare point.
fn strip_zeros(s: String) -> String {
    if !s.contains('.') {
        return s;
    }
    let t = s.trim_end_matches('0');
    t.strip_suffix('.').unwrap_or(t).to_string()
}

/// `stringmatchlen` (util.c) with `nocase = 0`: `*`, `?`, `[...]` with `^` and ranges,
/// `\` escapes. Iterative on `*` with backtracking to stay panic- and stack-safe.
pub fn glob_match(pattern: &[u8], string: &[u8]) -> bool {
    let mut skip_longer = false;
    glob_rec(pattern, string, 0, &mut skip_longer)
}

fn glob_rec(mut p: &[u8], mut s: &[u8], depth: usize, skip_longer: &mut bool) -> bool {
    if depth > 1000 {
        return false;
    }
    while !p.is_empty() && !s.is_empty() {
        match p[0] {
            b'*' => {
                while p.len() > 1 && p[1] == b'*' {
                    p = &p[1..];
                }
                if p.len() == 1 {
                    return true;
                }
                for i in 0..s.len() {
                    if glob_rec(&p[1..], &s[i..], depth + 1, skip_longer) {
                        return true;
                    }
                    if *skip_longer {
                        return false;
                    }
                }
                *skip_longer = true;
                return false;
            }
            b'?' => {
                s = &s[1..];
            }
            b'[' => {
                p = &p[1..];
                let not = p.first() == Some(&b'^');
                if not {
                    p = &p[1..];
                }
                let mut matched = false;
                loop {
                    if p.is_empty() {
                        break;
                    }
                    if p[0] == b'\\' && p.len() >= 2 {
                        p = &p[1..];
                        if p[0] == s[0] {
                            matched = true;
                        }
                    } else if p[0] == b']' {
                        break;
                    } else if p.len() >= 3 && p[1] == b'-' {
                        let (mut start, mut end) = (p[0], p[2]);
                        if start > end {
                            std::mem::swap(&mut start, &mut end);
                        }
                        p = &p[2..];
                        if s[0] >= start && s[0] <= end {
                            matched = true;
                        }
                    } else if p[0] == s[0] {
                        matched = true;
                    }
                    p = &p[1..];
                }
                // An unterminated class ends at the pattern's end (C: `pattern--`, then the
                // common `pattern++` below lands on the end).
                let m = if not { !matched } else { matched };
                if !m {
                    return false;
                }
                s = &s[1..];
            }
            b'\\' if p.len() >= 2 => {
                p = &p[1..];
                if p[0] != s[0] {
                    return false;
                }
                s = &s[1..];
            }
            c => {
                if c != s[0] {
                    return false;
                }
                s = &s[1..];
            }
        }
        if !p.is_empty() {
            p = &p[1..];
        }
        if s.is_empty() {
            while p.first() == Some(&b'*') {
                p = &p[1..];
            }
            break;
        }
    }
    p.is_empty() && s.is_empty()
}

/// Redis's index sanitizing for LRANGE (`addListRangeReply`) and ZRANGE by rank
/// (`zrangeGenericCommand`): negative indexes count from the end, the range is clamped,
/// `None` when it is empty.
pub fn index_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = i64::try_from(len).unwrap_or(i64::MAX);
    let mut start = if start < 0 {
        len.saturating_add(start)
    } else {
        start
    };
    let mut end = if end < 0 {
        len.saturating_add(end)
    } else {
        end
    };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= len {
        return None;
    }
    if end >= len {
        end = len - 1;
    }
    Some((usize::try_from(start).ok()?, usize::try_from(end).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g17_matches_printf() {
        assert_eq!(fmt_g17(1.5), "1.5");
        assert_eq!(fmt_g17(0.1), "0.10000000000000001");
        assert_eq!(fmt_g17(3.0), "3");
        assert_eq!(fmt_g17(-2.0), "-2");
        assert_eq!(fmt_g17(1e20), "1e+20");
        assert_eq!(fmt_g17(1e16), "10000000000000000");
        assert_eq!(fmt_g17(1e17), "1e+17");
        assert_eq!(fmt_g17(0.0001), "0.0001");
        assert_eq!(fmt_g17(0.00001), "1.0000000000000001e-05");
        assert_eq!(fmt_g17(f64::INFINITY), "inf");
        assert_eq!(fmt_g17(123456.789), "123456.789");
    }

    #[test]
    fn glob() {
        assert!(glob_match(b"*", b"abc"));
        assert!(glob_match(b"a*c", b"abc"));
        assert!(glob_match(b"a?c", b"abc"));
        assert!(!glob_match(b"a?c", b"ac"));
        assert!(glob_match(b"h[ae]llo", b"hello"));
        assert!(!glob_match(b"h[^e]llo", b"hello"));
        assert!(glob_match(b"h[a-b]llo", b"hbllo"));
        assert!(glob_match(b"h\\*llo", b"h*llo"));
        assert!(!glob_match(b"abc", b"abcd"));
        assert!(glob_match(b"a*", b"a"));
        assert!(glob_match(b"*a*", b"bab"));
        assert!(!glob_match(b"", b"a"));
        assert!(glob_match(b"", b""));
    }

    #[test]
    fn floats() {
        assert_eq!(string2d(b"1.5"), Some(1.5));
        assert_eq!(string2d(b" 1"), None);
        assert_eq!(string2d(b"nan"), None);
        assert_eq!(string2d(b"1e400"), None);
        assert_eq!(string2d(b"1e-400"), None);
        assert_eq!(string2d(b"1e-310"), Some(1e-310));
        assert_eq!(string2d(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(string2d(b"abc"), None);
        assert_eq!(string2d(b"5."), Some(5.0));
        assert_eq!(string2d(b".5"), Some(0.5));
        assert_eq!(strtod(b""), Some(0.0));
        assert_eq!(strtod(b" 2"), Some(2.0));
        assert_eq!(strtod(b"x"), None);
    }
}
