//! Intset (`intset.c`): the sorted array of integers Redis 7.0 uses for sets whose members are
//! all integers (at most `set-max-intset-entries`, 512).

/// Builds the intset blob for `values`: sorted, in the smallest encoding (2, 4 or 8 bytes)
/// that holds every value, as `intsetAdd` leaves it when members are only ever added.
pub fn encode(values: &[i64]) -> Vec<u8> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let width: u32 = sorted.iter().fold(2, |w, &v| {
        if v < i64::from(i32::MIN) || v > i64::from(i32::MAX) {
            8
        } else if v < i64::from(i16::MIN) || v > i64::from(i16::MAX) {
            w.max(4)
        } else {
            w
        }
    });
    let mut out = Vec::with_capacity(8 + sorted.len() * width as usize);
    out.extend_from_slice(&width.to_le_bytes());
    out.extend_from_slice(&(sorted.len() as u32).to_le_bytes());
    for v in sorted {
        match width {
            2 => out.extend_from_slice(&(v as i16).to_le_bytes()),
            4 => out.extend_from_slice(&(v as i32).to_le_bytes()),
            _ => out.extend_from_slice(&v.to_le_bytes()),
        }
    }
    out
}

/// Decodes an intset with `intsetValidateIntegrity`'s deep checks: valid encoding, size
/// matching the count, not empty, strictly ascending (so no duplicates).
pub fn decode(blob: &[u8]) -> Result<Vec<i64>, &'static str> {
    const BAD: &str = "Intset integrity check failed.";
    if blob.len() < 8 {
        return Err(BAD);
    }
    let width = u32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]) as usize;
    if !matches!(width, 2 | 4 | 8) {
        return Err(BAD);
    }
    let count = u32::from_le_bytes([blob[4], blob[5], blob[6], blob[7]]) as u64;
    if 8 + count * width as u64 != blob.len() as u64 || count == 0 {
        return Err(BAD);
    }
    let mut out = Vec::new();
    for chunk in blob[8..].chunks_exact(width) {
        let v = match width {
            2 => i64::from(i16::from_le_bytes([chunk[0], chunk[1]])),
            4 => i64::from(i32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]])),
            _ => {
                let mut a = [0u8; 8];
                a.copy_from_slice(chunk);
                i64::from_le_bytes(a)
            }
        };
        if out.last().is_some_and(|&prev| v <= prev) {
            return Err(BAD);
        }
        out.push(v);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_and_roundtrip() {
        assert_eq!(
            encode(&[3, 1, 2]),
            vec![2, 0, 0, 0, 3, 0, 0, 0, 1, 0, 2, 0, 3, 0]
        );
        assert_eq!(encode(&[70000])[0], 4);
        assert_eq!(encode(&[1, i64::MIN])[0], 8);
        for vals in [vec![5, -5, 40000], vec![i64::MAX, 0, i64::MIN]] {
            let mut sorted = vals.clone();
            sorted.sort();
            assert_eq!(decode(&encode(&vals)).unwrap(), sorted);
        }
    }

    #[test]
    fn rejects_bad() {
        assert!(decode(&encode(&[])).is_err());
        assert!(decode(&[2, 0, 0, 0, 2, 0, 0, 0, 5, 0, 1, 0]).is_err()); // descending
        assert!(decode(&[3, 0, 0, 0, 1, 0, 0, 0, 5, 0, 0]).is_err()); // encoding 3
        assert!(decode(&[2, 0, 0, 0, 9, 0, 0, 0, 5, 0]).is_err()); // count past end
    }
}
