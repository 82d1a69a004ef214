//! LZF, the compressor Redis uses for RDB strings (`lzf_c.c` / `lzf_d.c`, liblzf 3.6).
//!
//! The compressor is a line-by-line port of Redis's build of `lzf_compress` (HLOG 16,
//! VERY_FAST, not ULTRA_FAST) so that the bytes we write for a string are the bytes
//! redis-server writes for the same string: a file we produce is then comparable byte for
//! byte with a real dump. The one deliberate difference: Redis leaves its hash table
//! uninitialised (`INIT_HTAB 0`), we start from an empty one, which is what Redis gets in
//! practice as stale slots rarely point at a matching position.

const HLOG: u32 = 16;
const HSIZE: usize = 1 << HLOG;
const MAX_LIT: usize = 1 << 5;
const MAX_OFF: usize = 1 << 13;
const MAX_REF: usize = (1 << 8) + (1 << 3);

/// Why decompression failed (liblzf's E2BIG / EINVAL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LzfError {
    /// The output would exceed the declared uncompressed length.
    OutputTooBig,
    /// The compressed stream is malformed (truncated, or a back reference before the start).
    Invalid,
}

#[inline]
fn idx(h: u32) -> usize {
    // VERY_FAST: ((h >> (3*8 - HLOG)) - h*5) & (HSIZE - 1), in unsigned int arithmetic.
    ((h >> (24 - HLOG)).wrapping_sub(h.wrapping_mul(5)) as usize) & (HSIZE - 1)
}

/// Compresses `input` into at most `out_len` bytes; `None` when it does not fit (Redis then
/// stores the string verbatim). Mirrors `lzf_compress` exactly, including its output checks.
pub fn compress(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    let in_len = input.len();
    if in_len == 0 || out_len == 0 {
        return None;
    }
    // Positions; 0 means "empty" (position 0 can never be a reference: `ref > in_data`).
    let mut htab = vec![0u32; HSIZE];
    // A little slack: liblzf may write up to 3 bytes past its final check, into the +1
    // byte Redis allocates and beyond; we truncate to the returned length.
    let mut out = vec![0u8; out_len + 8];
    let at = |i: usize| -> u32 { input.get(i).copied().unwrap_or(0) as u32 };
    let mut ip = 0usize;
    let mut op = 1usize; // start run
    let mut lit: usize = 0;
    let mut hval: u32 = (at(0) << 8) | at(1);

    while ip + 2 < in_len {
        hval = (hval << 8) | at(ip + 2);
        let slot = idx(hval);
        let reference = htab[slot] as usize;
        htab[slot] = ip as u32;

        let matched = reference != 0
            && reference < ip
            && ip - reference - 1 < MAX_OFF
            && input[reference + 2] == input[ip + 2]
            && input[reference] == input[ip]
            && input[reference + 1] == input[ip + 1];
        if matched {
            let off = ip - reference - 1;
            let mut len: usize = 2;
            let maxlen = (in_len - ip - len).min(MAX_REF);

            if op + 3 + 1 >= out_len && op - usize::from(lit == 0) + 3 + 1 >= out_len {
                return None;
            }
            out[op - lit - 1] = (lit as u8).wrapping_sub(1); // stop run
            op -= usize::from(lit == 0); // undo run if length is zero

            // The unrolled 16-step scan of liblzf, then the byte loop; kept in this shape
            // because it can run one byte past `maxlen`, which changes the output.
            let mut unrolled_mismatch = false;
            if maxlen > 16 {
                for _ in 0..16 {
                    len += 1;
                    if input[reference + len] != input[ip + len] {
                        unrolled_mismatch = true;
                        break;
                    }
                }
            }
            if !unrolled_mismatch {
                loop {
                    len += 1;
                    if !(len < maxlen && input[reference + len] == input[ip + len]) {
                        break;
                    }
                }
            }

            len -= 2; // len is now #octets - 1
            ip += 1;

            if len < 7 {
                out[op] = ((off >> 8) + (len << 5)) as u8;
                op += 1;
            } else {
                out[op] = ((off >> 8) + (7 << 5)) as u8;
                out[op + 1] = (len - 7) as u8;
                op += 2;
            }
            out[op] = off as u8;
            op += 1;

            lit = 0;
            op += 1; // start run

            ip += len + 1;
            if ip + 2 >= in_len {
                break;
            }

            // VERY_FAST: re-hash the last two positions of the match.
            ip -= 2;
            hval = (at(ip) << 8) | at(ip + 1);
            hval = (hval << 8) | at(ip + 2);
            htab[idx(hval)] = ip as u32;
            ip += 1;
            hval = (hval << 8) | at(ip + 2);
            htab[idx(hval)] = ip as u32;
            ip += 1;
        } else {
            if op >= out_len {
                return None;
            }
            lit += 1;
            out[op] = input[ip];
            op += 1;
            ip += 1;
            if lit == MAX_LIT {
                out[op - lit - 1] = (lit - 1) as u8;
                lit = 0;
                op += 1;
            }
        }
    }

    if op + 3 > out_len {
        return None;
    }
    while ip < in_len {
        lit += 1;
        out[op] = input[ip];
        op += 1;
        ip += 1;
        if lit == MAX_LIT {
            out[op - lit - 1] = (lit - 1) as u8;
            lit = 0;
            op += 1;
        }
    }
    out[op - lit - 1] = (lit as u8).wrapping_sub(1); // end run
    op -= usize::from(lit == 0);
    out.truncate(op);
    Some(out)
}

/// Decompresses `input`, which must expand to exactly `out_len` bytes (checked by the caller,
/// as Redis compares `lzf_decompress`'s result with the declared length). The output grows
/// as data is produced, so a lying `out_len` cannot make us allocate more than the
/// compressed bytes can expand to.
pub fn decompress(input: &[u8], out_len: usize) -> Result<Vec<u8>, LzfError> {
    let mut out: Vec<u8> = Vec::with_capacity(out_len.min(input.len().saturating_mul(4)));
    let mut ip = 0usize;
    while ip < input.len() {
        let ctrl = input[ip] as usize;
        ip += 1;
        if ctrl < (1 << 5) {
            let run = ctrl + 1;
            if out.len() + run > out_len {
                return Err(LzfError::OutputTooBig);
            }
            if ip + run > input.len() {
                return Err(LzfError::Invalid);
            }
            out.extend_from_slice(&input[ip..ip + run]);
            ip += run;
        } else {
            let mut len = ctrl >> 5;
            if ip >= input.len() {
                return Err(LzfError::Invalid);
            }
            if len == 7 {
                len += input[ip] as usize;
                ip += 1;
                if ip >= input.len() {
                    return Err(LzfError::Invalid);
                }
            }
            let back = ((ctrl & 0x1f) << 8) + 1 + input[ip] as usize;
            ip += 1;
            if out.len() + len + 2 > out_len {
                return Err(LzfError::OutputTooBig);
            }
            if back > out.len() {
                return Err(LzfError::Invalid);
            }
            // Byte by byte: source and destination overlap for runs (offset < length).
            let from = out.len() - back;
            for i in from..from + len + 2 {
                let b = out[i];
                out.push(b);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_repetitive() {
        let data = b"hello hello hello hello hello hello hello world".repeat(10);
        let c = compress(&data, data.len() - 4).expect("compresses");
        assert!(c.len() < data.len() / 4);
        assert_eq!(decompress(&c, data.len()).unwrap(), data);
    }

    #[test]
    fn incompressible_gives_none() {
        let data: Vec<u8> = (0..40u8)
            .map(|i| i.wrapping_mul(97).wrapping_add(13))
            .collect();
        assert_eq!(compress(&data, data.len() - 4), None);
    }

    #[test]
    fn decompress_redis_output() {
        // `SET k aaaa…a` (100 × 'a') saved by redis-server 7.0.15: C3 09 40 64 then these.
        let compressed = [0x01, b'a', b'a', 0xe0, 0x57, 0x00, 0x01, b'a', b'a'];
        let out = decompress(&compressed, 100).unwrap();
        assert_eq!(out, vec![b'a'; 100]);
        assert_eq!(compress(&out, 96).unwrap(), compressed);
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(decompress(&[0x05, b'a'], 10), Err(LzfError::Invalid));
        assert_eq!(decompress(&[0x20, 0x05], 10), Err(LzfError::Invalid));
        assert_eq!(decompress(&[0x02, 1, 2, 3], 2), Err(LzfError::OutputTooBig));
    }
}
