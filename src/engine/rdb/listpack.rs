//! Listpack (`listpack.c`), the compact encoding Redis 7.0 uses for small hashes and sorted
//! sets and for every quicklist node of a list. Written exactly as `lpAppend` writes it, so a
//! listpack we build is byte-identical to the one redis-server holds for the same elements.

/// One listpack (or ziplist) element: Redis stores integer-looking strings as integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elem<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl Elem<'_> {
    /// The element as the string Redis hands to commands (`lpGet` + `ll2string`).
    pub fn to_bytes(self) -> Vec<u8> {
        match self {
            Elem::Int(v) => v.to_string().into_bytes(),
            Elem::Str(s) => s.to_vec(),
        }
    }
}

const HDR_SIZE: usize = 6;
const NUMELE_UNKNOWN: usize = u16::MAX as usize;
const EOF: u8 = 0xFF;

/// `lpStringToInt64` / `string2ll`: a strict decimal integer (no `+`, no leading zeros, no
/// `-0`, no spaces) that fits an i64. Both functions accept exactly the same strings.
pub fn parse_strict_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() >= 21 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    if neg {
        if v > (i64::MAX as u64) + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

/// The encoding bytes of one entry (`lpEncodeIntegerGetType` / `lpEncodeString`).
fn encode_entry(out: &mut Vec<u8>, ele: &[u8]) {
    match parse_strict_i64(ele) {
        Some(v) => encode_int(out, v),
        None => {
            let len = ele.len();
            if len < 64 {
                out.push(0x80 | len as u8);
            } else if len < 4096 {
                out.push(0xE0 | (len >> 8) as u8);
                out.push(len as u8);
            } else {
                out.push(0xF0);
                out.extend_from_slice(&(len as u32).to_le_bytes());
            }
            out.extend_from_slice(ele);
        }
    }
}

fn encode_int(out: &mut Vec<u8>, v: i64) {
    if (0..=127).contains(&v) {
        out.push(v as u8);
    } else if (-4096..=4095).contains(&v) {
        let u = if v < 0 { (1i64 << 13) + v } else { v } as u64;
        out.push(0xC0 | (u >> 8) as u8);
        out.push(u as u8);
    } else if (-32768..=32767).contains(&v) {
        out.push(0xF1);
        out.extend_from_slice(&(v as i16).to_le_bytes());
    } else if (-8_388_608..=8_388_607).contains(&v) {
        out.push(0xF2);
        out.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
    } else if (i64::from(i32::MIN)..=i64::from(i32::MAX)).contains(&v) {
        out.push(0xF3);
        out.extend_from_slice(&(v as i32).to_le_bytes());
    } else {
        out.push(0xF4);
        out.extend_from_slice(&v.to_le_bytes());
    }
}

/// `lpEncodeBacklen`: the entry length, written so it can be read backwards.
fn encode_backlen(out: &mut Vec<u8>, l: usize) {
    if l <= 127 {
        out.push(l as u8);
    } else if l < 16383 {
        out.extend_from_slice(&[(l >> 7) as u8, (l & 127) as u8 | 128]);
    } else if l < 2_097_151 {
        out.extend_from_slice(&[
            (l >> 14) as u8,
            ((l >> 7) & 127) as u8 | 128,
            (l & 127) as u8 | 128,
        ]);
    } else if l < 268_435_455 {
        out.extend_from_slice(&[
            (l >> 21) as u8,
            ((l >> 14) & 127) as u8 | 128,
            ((l >> 7) & 127) as u8 | 128,
            (l & 127) as u8 | 128,
        ]);
    } else {
        out.extend_from_slice(&[
            (l >> 28) as u8,
            ((l >> 21) & 127) as u8 | 128,
            ((l >> 14) & 127) as u8 | 128,
            ((l >> 7) & 127) as u8 | 128,
            (l & 127) as u8 | 128,
        ]);
    }
}

/// A listpack being built by successive `lpAppend`s.
#[derive(Debug, Clone)]
pub struct Writer {
    buf: Vec<u8>,
    count: usize,
}

impl Default for Writer {
    fn default() -> Self {
        Writer::new()
    }
}

impl Writer {
    /// `lpNew`: header plus terminator.
    pub fn new() -> Self {
        Writer {
            buf: vec![0; HDR_SIZE],
            count: 0,
        }
    }

    /// `lpAppend`: integer-looking strings are stored as integers.
    pub fn push(&mut self, ele: &[u8]) {
        let start = self.buf.len();
        encode_entry(&mut self.buf, ele);
        let l = self.buf.len() - start;
        encode_backlen(&mut self.buf, l);
        self.count += 1;
    }

    /// `lpAppendInteger`.
    pub fn push_int(&mut self, v: i64) {
        let start = self.buf.len();
        encode_int(&mut self.buf, v);
        let l = self.buf.len() - start;
        encode_backlen(&mut self.buf, l);
        self.count += 1;
    }

    /// Total bytes of the finished listpack (`lpBytes`), what quicklist calls `node->sz`.
    pub fn bytes(&self) -> usize {
        self.buf.len() + 1
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when no element was pushed.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The listpack blob: total bytes and element count in the header, 0xFF at the end.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push(EOF);
        let total = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&total.to_le_bytes());
        let n = self.count.min(NUMELE_UNKNOWN) as u16;
        self.buf[4..6].copy_from_slice(&n.to_le_bytes());
        self.buf
    }
}

/// Decodes and fully validates a listpack (`lpValidateIntegrity` with deep checks): header
/// length, every entry inside the blob, each back-length consistent, count, terminator.
pub fn decode(lp: &[u8]) -> Result<Vec<Elem<'_>>, &'static str> {
    if lp.len() < HDR_SIZE + 1 {
        return Err("listpack shorter than its header");
    }
    let total = u32::from_le_bytes([lp[0], lp[1], lp[2], lp[3]]) as usize;
    if total != lp.len() {
        return Err("listpack total bytes does not match its length");
    }
    if lp[lp.len() - 1] != EOF {
        return Err("listpack does not end with 0xFF");
    }
    let declared = u16::from_le_bytes([lp[4], lp[5]]) as usize;
    let end = lp.len() - 1;
    let mut p = HDR_SIZE;
    let mut out = Vec::new();
    while p < end {
        let (elem, enc_len) = decode_entry(&lp[p..end])?;
        let mut back = Vec::with_capacity(5);
        encode_backlen(&mut back, enc_len);
        let bl_end = p + enc_len + back.len();
        if bl_end > end || lp[p + enc_len..bl_end] != back[..] {
            return Err("listpack entry back-length is wrong");
        }
        out.push(elem);
        p = bl_end;
    }
    if declared != NUMELE_UNKNOWN && declared != out.len() {
        return Err("listpack element count does not match its header");
    }
    Ok(out)
}

/// Decodes one entry at the start of `p`; returns it and its encoding+data length.
fn decode_entry(p: &[u8]) -> Result<(Elem<'_>, usize), &'static str> {
    let need = |n: usize| -> Result<(), &'static str> {
        if p.len() < n {
            Err("listpack entry runs past the end")
        } else {
            Ok(())
        }
    };
    let b = p[0];
    let sized = |hdr: usize, len: usize| -> Result<(Elem<'_>, usize), &'static str> {
        let n = hdr.checked_add(len).ok_or("listpack string too long")?;
        need(n)?;
        Ok((Elem::Str(&p[hdr..n]), n))
    };
    if b & 0x80 == 0 {
        Ok((Elem::Int(i64::from(b & 0x7f)), 1))
    } else if b & 0xC0 == 0x80 {
        sized(1, usize::from(b & 0x3f))
    } else if b & 0xE0 == 0xC0 {
        need(2)?;
        let u = (i64::from(b & 0x1f) << 8) | i64::from(p[1]);
        Ok((Elem::Int(if u >= 1 << 12 { u - (1 << 13) } else { u }), 2))
    } else if b & 0xF0 == 0xE0 {
        need(2)?;
        sized(2, (usize::from(b & 0x0f) << 8) | usize::from(p[1]))
    } else {
        match b {
            0xF0 => {
                need(5)?;
                let len = u32::from_le_bytes([p[1], p[2], p[3], p[4]]) as usize;
                sized(5, len)
            }
            0xF1 => {
                need(3)?;
                Ok((Elem::Int(i64::from(i16::from_le_bytes([p[1], p[2]]))), 3))
            }
            0xF2 => {
                need(4)?;
                let v = i32::from_le_bytes([0, p[1], p[2], p[3]]) >> 8;
                Ok((Elem::Int(i64::from(v)), 4))
            }
            0xF3 => {
                need(5)?;
                Ok((
                    Elem::Int(i64::from(i32::from_le_bytes([p[1], p[2], p[3], p[4]]))),
                    5,
                ))
            }
            0xF4 => {
                need(9)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(&p[1..9]);
                Ok((Elem::Int(i64::from_le_bytes(a)), 9))
            }
            _ => Err("listpack entry has an invalid encoding byte"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_integers() {
        assert_eq!(parse_strict_i64(b"0"), Some(0));
        assert_eq!(parse_strict_i64(b"-12"), Some(-12));
        assert_eq!(parse_strict_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_strict_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b"9223372036854775808"[..],
            b"-0",
            b"01",
            b"+1",
            b" 1",
            b"1 ",
            b"-",
            b"",
            b"1a",
        ] {
            assert_eq!(parse_strict_i64(bad), None, "{:?}", bad);
        }
    }

    #[test]
    fn every_encoding_roundtrips() {
        let ints = [
            0i64,
            127,
            128,
            -1,
            -4096,
            4095,
            4096,
            -32768,
            32767,
            40000,
            -8_388_608,
            8_388_607,
            1 << 30,
            i64::MIN,
            i64::MAX,
        ];
        let mut w = Writer::new();
        for v in ints {
            w.push(v.to_string().as_bytes());
        }
        let strs = [
            vec![b'x'; 0],
            vec![b'a'; 63],
            vec![b'b'; 64],
            vec![b'c'; 4095],
            vec![b'd'; 4096],
            b"-0".to_vec(),
        ];
        for s in &strs {
            w.push(s);
        }
        let blob = w.finish();
        let got = decode(&blob).unwrap();
        let want: Vec<Vec<u8>> = ints
            .iter()
            .map(|v| v.to_string().into_bytes())
            .chain(strs.iter().cloned())
            .collect();
        assert_eq!(got.iter().map(|e| e.to_bytes()).collect::<Vec<_>>(), want);
        assert!(matches!(got[0], Elem::Int(0)));
    }

    #[test]
    fn known_bytes() {
        // HSET h a 1 in redis 7.0: the listpack Redis writes.
        let mut w = Writer::new();
        w.push(b"a");
        w.push(b"1");
        assert_eq!(
            w.finish(),
            vec![12, 0, 0, 0, 2, 0, 0x81, b'a', 2, 0x01, 1, 0xFF]
        );
    }

    #[test]
    fn rejects_corruption() {
        let mut w = Writer::new();
        w.push(b"hello");
        let blob = w.finish();
        let mut bad = blob.clone();
        bad[0] = 99;
        assert!(decode(&bad).is_err());
        let mut bad = blob.clone();
        bad[6] = 0x80 | 40;
        assert!(decode(&bad).is_err());
        let mut bad = blob.clone();
        bad[4] = 3;
        assert!(decode(&bad).is_err());
        assert!(decode(&blob[..5]).is_err());
    }
}
