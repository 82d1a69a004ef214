//! Pre-7.0 compact encodings, read only: ziplist (`ziplist.c`, RDB v7–v9 small hashes, zsets
//! and lists, and quicklist v1 nodes) and zipmap (`zipmap.c`, RDB < v4 small hashes). Redis
//! 7.0 still loads these (converting them to listpacks); so do we, for RDBs of older masters.

use super::listpack::Elem;

const BAD: &str = "Ziplist integrity check failed.";

/// Decodes a ziplist with the checks of `ziplistValidateIntegrity(deep=1)`: total bytes,
/// tail offset, every entry in bounds with a valid encoding and a correct prevlen, count,
/// terminator.
pub fn decode(zl: &[u8]) -> Result<Vec<Elem<'_>>, &'static str> {
    const HDR: usize = 10;
    if zl.len() < HDR + 1 {
        return Err(BAD);
    }
    let u32_at = |i: usize| u32::from_le_bytes([zl[i], zl[i + 1], zl[i + 2], zl[i + 3]]) as usize;
    if u32_at(0) != zl.len() || zl[zl.len() - 1] != 0xFF {
        return Err(BAD);
    }
    let tail = u32_at(4);
    let declared = u16::from_le_bytes([zl[8], zl[9]]) as usize;
    let end = zl.len() - 1;
    let mut p = HDR;
    let mut prev_raw = 0usize;
    let mut last_start = HDR;
    let mut out = Vec::new();
    while p < end {
        let start = p;
        // prevlen
        let prevlen = if zl[p] < 254 {
            p += 1;
            zl[p - 1] as usize
        } else if zl[p] == 254 {
            if p + 5 > end {
                return Err(BAD);
            }
            p += 5;
            u32_at(p - 4)
        } else {
            return Err(BAD);
        };
        if prevlen != prev_raw {
            return Err(BAD);
        }
        if p >= end {
            return Err(BAD);
        }
        let b = zl[p];
        let rest = &zl[p..end];
        let need = |n: usize| if rest.len() < n { Err(BAD) } else { Ok(()) };
        let (elem, used): (Elem<'_>, usize) = match b >> 6 {
            0 => {
                let len = usize::from(b & 0x3f);
                need(1 + len)?;
                (Elem::Str(&rest[1..1 + len]), 1 + len)
            }
            1 => {
                need(2)?;
                let len = (usize::from(b & 0x3f) << 8) | usize::from(rest[1]);
                need(2 + len)?;
                (Elem::Str(&rest[2..2 + len]), 2 + len)
            }
            2 => {
                need(5)?;
                let len = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]) as usize;
                let n = len.checked_add(5).ok_or(BAD)?;
                need(n)?;
                (Elem::Str(&rest[5..n]), n)
            }
            _ => match b {
                0xC0 => {
                    need(3)?;
                    (
                        Elem::Int(i64::from(i16::from_le_bytes([rest[1], rest[2]]))),
                        3,
                    )
                }
                0xD0 => {
                    need(5)?;
                    (
                        Elem::Int(i64::from(i32::from_le_bytes([
                            rest[1], rest[2], rest[3], rest[4],
                        ]))),
                        5,
                    )
                }
                0xE0 => {
                    need(9)?;
                    let mut a = [0u8; 8];
                    a.copy_from_slice(&rest[1..9]);
                    (Elem::Int(i64::from_le_bytes(a)), 9)
                }
                0xF0 => {
                    need(4)?;
                    (
                        Elem::Int(i64::from(
                            i32::from_le_bytes([0, rest[1], rest[2], rest[3]]) >> 8,
                        )),
                        4,
                    )
                }
                0xFE => {
                    need(2)?;
                    (Elem::Int(i64::from(rest[1] as i8)), 2)
                }
                0xF1..=0xFD => (Elem::Int(i64::from(b & 0x0f) - 1), 1),
                _ => return Err(BAD),
            },
        };
        p += used;
        prev_raw = p - start;
        last_start = start;
        out.push(elem);
    }
    if p != end || tail != last_start || (declared != u16::MAX as usize && declared != out.len()) {
        return Err(BAD);
    }
    Ok(out)
}

/// A zipmap (field, value) pair.
pub type Pair<'a> = (&'a [u8], &'a [u8]);

/// Decodes a zipmap into (field, value) pairs, with `zipmapValidateIntegrity`'s checks.
pub fn decode_zipmap(zm: &[u8]) -> Result<Vec<Pair<'_>>, &'static str> {
    const BAD_ZM: &str = "Zipmap integrity check failed.";
    if zm.len() < 2 || zm[zm.len() - 1] != 0xFF {
        return Err(BAD_ZM);
    }
    let end = zm.len() - 1;
    let mut p = 1usize;
    let read_len = |p: &mut usize| -> Result<usize, &'static str> {
        if *p >= end {
            return Err(BAD_ZM);
        }
        let b = zm[*p];
        if b < 254 {
            *p += 1;
            Ok(usize::from(b))
        } else {
            if *p + 5 > end {
                return Err(BAD_ZM);
            }
            let l = u32::from_le_bytes([zm[*p + 1], zm[*p + 2], zm[*p + 3], zm[*p + 4]]) as usize;
            *p += 5;
            Ok(l)
        }
    };
    let mut out = Vec::new();
    while p < end {
        let kl = read_len(&mut p)?;
        let kend = p.checked_add(kl).filter(|&e| e <= end).ok_or(BAD_ZM)?;
        let key = &zm[p..kend];
        p = kend;
        let vl = read_len(&mut p)?;
        if p >= end {
            return Err(BAD_ZM);
        }
        let free = usize::from(zm[p]);
        p += 1;
        let vend = p.checked_add(vl).filter(|&e| e <= end).ok_or(BAD_ZM)?;
        let val = &zm[p..vend];
        p = vend.checked_add(free).filter(|&e| e <= end).ok_or(BAD_ZM)?;
        out.push((key, val));
    }
    if out.is_empty() || (zm[0] != 254 && usize::from(zm[0]) != out.len()) {
        return Err(BAD_ZM);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a ziplist the way `ziplistPush` does (for tests only).
    fn build(entries: &[&[u8]]) -> Vec<u8> {
        let mut body = Vec::new();
        let mut prev = 0usize;
        let mut tail = 10;
        for e in entries {
            let start = body.len();
            tail = 10 + start;
            if prev < 254 {
                body.push(prev as u8);
            } else {
                body.push(254);
                body.extend_from_slice(&(prev as u32).to_le_bytes());
            }
            match std::str::from_utf8(e)
                .ok()
                .and_then(|s| s.parse::<i64>().ok())
            {
                Some(v) if (0..=12).contains(&v) => body.push(0xF1 + v as u8),
                Some(v) if i8::try_from(v).is_ok() => body.extend_from_slice(&[0xFE, v as u8]),
                Some(v) if i16::try_from(v).is_ok() => {
                    body.push(0xC0);
                    body.extend_from_slice(&(v as i16).to_le_bytes());
                }
                Some(v) => {
                    body.push(0xE0);
                    body.extend_from_slice(&v.to_le_bytes());
                }
                None if e.len() < 64 => {
                    body.push(e.len() as u8);
                    body.extend_from_slice(e);
                }
                None => {
                    body.push(0x40 | (e.len() >> 8) as u8);
                    body.push(e.len() as u8);
                    body.extend_from_slice(e);
                }
            }
            prev = body.len() - start;
        }
        let mut zl = Vec::new();
        zl.extend_from_slice(&((body.len() + 11) as u32).to_le_bytes());
        zl.extend_from_slice(&(tail as u32).to_le_bytes());
        zl.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        zl.extend_from_slice(&body);
        zl.push(0xFF);
        zl
    }

    #[test]
    fn decodes_all_kinds() {
        let long = vec![b'z'; 300];
        let entries: Vec<&[u8]> = vec![b"a", b"7", b"-100", b"30000", b"123456789012", &long, b"x"];
        let zl = build(&entries);
        let got: Vec<Vec<u8>> = decode(&zl)
            .unwrap()
            .into_iter()
            .map(|e| e.to_bytes())
            .collect();
        assert_eq!(got, entries.iter().map(|e| e.to_vec()).collect::<Vec<_>>());
        let mut bad = zl.clone();
        bad[4] = 11; // wrong tail
        assert!(decode(&bad).is_err());
        assert!(decode(&zl[..zl.len() - 1]).is_err());
    }

    #[test]
    fn zipmap() {
        // {"foo": "bar", "k": "vv"} with one free byte after "vv".
        let zm = [
            2, 3, b'f', b'o', b'o', 3, 0, b'b', b'a', b'r', 1, b'k', 2, 1, b'v', b'v', 0, 0xFF,
        ];
        let got = decode_zipmap(&zm).unwrap();
        assert_eq!(
            got,
            vec![(&b"foo"[..], &b"bar"[..]), (&b"k"[..], &b"vv"[..])]
        );
        assert!(decode_zipmap(&zm[..10]).is_err());
    }
}
