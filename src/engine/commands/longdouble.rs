//! A software x87 80-bit `long double` — just enough for INCRBYFLOAT.
//!
//! Redis computes INCRBYFLOAT in `long double` (64-bit mantissa on x86-64) and prints it with
//! `%.17Lf`, trimming trailing zeros (util.c `ld2string`, LD_STR_HUMAN). With a plain `f64`
//! `INCRBYFLOAT k 0.1` would print `0.10000000000000001` instead of Redis's `0.1`, so the
//! value is emulated exactly: `strtold`-style correctly rounded parsing, exactly rounded
//! addition (round-half-even) and exact decimal formatting, via a tiny big-integer type.
//!
//! Known simplification: no subnormals (values below 2^-16382 keep a full mantissa down to
//! 2^-16445 and are flushed to zero below); hex-float input (`0x1p3`) is rejected.

use std::cmp::Ordering;

/// Longest input `string2ld` accepts (`MAX_LONG_DOUBLE_CHARS`).
const MAX_LONG_DOUBLE_CHARS: usize = 5 * 1024;
/// Largest unbiased exponent of the leading mantissa bit.
const MAX_EXP: i64 = 16383;
/// Below this (leading-bit exponent) we flush to zero.
const MIN_EXP: i64 = -16445;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Zero,
    Inf,
    NaN,
    /// `mant * 2^exp`, `mant` normalized (bit 63 set).
    Finite {
        mant: u64,
        exp: i64,
    },
}

/// An 80-bit extended-precision value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LongDouble {
    neg: bool,
    kind: Kind,
}

impl LongDouble {
    pub fn zero() -> Self {
        LongDouble {
            neg: false,
            kind: Kind::Zero,
        }
    }

    pub fn is_finite(&self) -> bool {
        matches!(self.kind, Kind::Zero | Kind::Finite { .. })
    }

    /// `string2ld`: `strtold` on the whole string; no leading space, no NaN, no overflow,
    /// no underflow to zero.
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        if bytes.is_empty() || bytes.len() >= MAX_LONG_DOUBLE_CHARS {
            return None;
        }
        let (neg, body) = match bytes[0] {
            b'-' => (true, &bytes[1..]),
            b'+' => (false, &bytes[1..]),
            _ => (false, bytes),
        };
        if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
            return Some(LongDouble {
                neg,
                kind: Kind::Inf,
            });
        }
        let mut digits = Big::zero();
        let mut ndigits = 0usize;
        let mut frac_digits: i64 = 0;
        let mut i = 0;
        let mut seen_point = false;
        while i < body.len() {
            let c = body[i];
            if c.is_ascii_digit() {
                digits.mul_small(10);
                digits.add_small(u32::from(c - b'0'));
                ndigits += 1;
                if seen_point {
                    frac_digits += 1;
                }
            } else if c == b'.' && !seen_point {
                seen_point = true;
            } else {
                break;
            }
            i += 1;
        }
        if ndigits == 0 {
            return None;
        }
        let mut exp10: i64 = 0;
        if i < body.len() && (body[i] == b'e' || body[i] == b'E') {
            let mut j = i + 1;
            let eneg = match body.get(j) {
                Some(b'-') => {
                    j += 1;
                    true
                }
                Some(b'+') => {
                    j += 1;
                    false
                }
                _ => false,
            };
            let start = j;
            while j < body.len() && body[j].is_ascii_digit() {
                exp10 = exp10
                    .saturating_mul(10)
                    .saturating_add(i64::from(body[j] - b'0'));
                j += 1;
            }
            if j == start {
                return None;
            }
            if eneg {
                exp10 = -exp10;
            }
            i = j;
        }
        if i != body.len() {
            return None;
        }
        if digits.is_zero() {
            return Some(LongDouble {
                neg,
                kind: Kind::Zero,
            });
        }
        let e10 = exp10.saturating_sub(frac_digits);
        // Rough magnitude guard before exact work: long double spans about 1e±4951.
        let magnitude = e10.saturating_add(digits.decimal_len_estimate());
        if magnitude > 4940 {
            return None; // ERANGE overflow
        }
        if magnitude < -4970 {
            return None; // ERANGE underflow to zero
        }
        let kind = if e10 >= 0 {
            let mut n = digits;
            for _ in 0..e10 {
                n.mul_small(10);
            }
            round(n, 0, false)
        } else {
            let mut q = Big::from_u64(1);
            for _ in 0..(-e10) {
                q.mul_small(10);
            }
            let shift = (q.bit_len() + 66).saturating_sub(digits.bit_len());
            let num = digits.shl(shift);
            let (quot, rem) = num.divmod(&q);
            round(quot, -(shift as i64), !rem.is_zero())
        };
        match kind {
            Kind::Inf | Kind::Zero => None, // ERANGE
            k => Some(LongDouble { neg, kind: k }),
        }
    }

    /// `a + b` rounded once to 64 mantissa bits, round-half-even.
    pub fn add(&self, other: &LongDouble) -> LongDouble {
        use Kind::*;
        match (self.kind, other.kind) {
            (NaN, _) | (_, NaN) => LongDouble {
                neg: false,
                kind: NaN,
            },
            (Inf, Inf) if self.neg != other.neg => LongDouble {
                neg: false,
                kind: NaN,
            },
            (Inf, _) => *self,
            (_, Inf) => *other,
            (Zero, Zero) => LongDouble {
                neg: self.neg && other.neg,
                kind: Zero,
            },
            (Zero, _) => *other,
            (_, Zero) => *self,
            (Finite { mant: ma, exp: ea }, Finite { mant: mb, exp: eb }) => {
                let emin = ea.min(eb);
                let a = Big::from_u64(ma).shl((ea - emin) as usize);
                let b = Big::from_u64(mb).shl((eb - emin) as usize);
                let (neg, n) = if self.neg == other.neg {
                    (self.neg, a.add(&b))
                } else {
                    match a.cmp(&b) {
                        Ordering::Equal => return LongDouble::zero(),
                        Ordering::Greater => (self.neg, a.sub(&b)),
                        Ordering::Less => (other.neg, b.sub(&a)),
                    }
                };
                LongDouble {
                    neg,
                    kind: round(n, emin, false),
                }
            }
        }
    }

    /// `ld2string(…, LD_STR_HUMAN)`: `%.17Lf`, trailing zeros and a bare point removed,
    /// `-0` printed as `0`.
    pub fn to_human_string(self) -> String {
        let scaled = match self.kind {
            Kind::Inf => {
                return if self.neg {
                    "-inf".into()
                } else {
                    "inf".into()
                }
            }
            Kind::NaN => return "nan".into(),
            Kind::Zero => Big::zero(),
            Kind::Finite { mant, exp } => {
                let mut n = Big::from_u64(mant);
                for _ in 0..17 {
                    n.mul_small(10);
                }
                if exp >= 0 {
                    n.shl(exp as usize)
                } else {
                    let shift = (-exp) as usize;
                    let q = n.shr(shift);
                    let half = n.bit(shift - 1);
                    let sticky = n.any_below(shift - 1);
                    if half && (sticky || q.bit(0)) {
                        let mut q = q;
                        q.add_small(1);
                        q
                    } else {
                        q
                    }
                }
            }
        };
        let mut digits = scaled.to_decimal();
        while digits.len() < 18 {
            digits.insert(0, '0');
        }
        let (int_part, frac) = digits.split_at(digits.len() - 17);
        let mut s = String::new();
        if self.neg {
            s.push('-');
        }
        s.push_str(int_part);
        s.push('.');
        s.push_str(frac);
        let t = s.trim_end_matches('0');
        let t = t.strip_suffix('.').unwrap_or(t);
        if t == "-0" {
            "0".into()
        } else {
            t.to_string()
        }
    }

    /// `(long long) ceill(x * 1000.0)` as Redis computes a blocking command's timeout in
    /// milliseconds (timeout.c, `getTimeoutFromObjectOrReply`): the product rounded to a
    /// long double, its ceiling, and `i64::MIN` — the x87 "integer indefinite" — when that
    /// does not fit in a `long long` (infinities and anything past ±2^63).
    pub fn ceil_thousandfold(&self) -> i64 {
        let (mant, exp) = match self.kind {
            Kind::Zero => return 0,
            Kind::Inf | Kind::NaN => return i64::MIN,
            Kind::Finite { mant, exp } => {
                let mut n = Big::from_u64(mant);
                n.mul_small(1000);
                match round(n, exp, false) {
                    Kind::Finite { mant, exp } => (mant, exp),
                    Kind::Zero => return 0,
                    Kind::Inf | Kind::NaN => return i64::MIN,
                }
            }
        };
        // |x| = mant * 2^exp: its integer part and whether a fraction is left.
        // `mant` keeps its top bit set, so from 2^0 on the value is at least 2^63.
        let (int, fraction) = if exp >= 0 {
            return i64::MIN;
        } else if exp <= -64 {
            (0, true)
        } else {
            let shift = (-exp) as u32;
            (mant >> shift, mant & ((1u64 << shift) - 1) != 0)
        };
        // The ceiling rounds a positive value up and a negative one towards zero.
        let magnitude = if self.neg || !fraction {
            int
        } else {
            int.saturating_add(1)
        };
        match i64::try_from(magnitude) {
            Ok(m) if self.neg => -m,
            Ok(m) => m,
            Err(_) => i64::MIN,
        }
    }
}

/// Rounds `n * 2^e2` (plus a sticky bit below it) to a 64-bit mantissa.
fn round(n: Big, e2: i64, sticky: bool) -> Kind {
    let bl = n.bit_len();
    if bl == 0 {
        return Kind::Zero;
    }
    let (mut mant, mut exp) = if bl <= 64 {
        let shift = 64 - bl;
        (n.low_u64() << shift, e2 - shift as i64)
    } else {
        let shift = bl - 64;
        let mut mant = n.shr(shift).low_u64();
        let half = n.bit(shift - 1);
        let rest = sticky || n.any_below(shift - 1);
        let mut exp = e2 + shift as i64;
        if half && (rest || mant & 1 == 1) {
            mant = mant.wrapping_add(1);
            if mant == 0 {
                mant = 1 << 63;
                exp += 1;
            }
        }
        (mant, exp)
    };
    if mant == 0 {
        mant = 1 << 63;
        exp += 1;
    }
    let lead = exp + 63;
    if lead > MAX_EXP {
        Kind::Inf
    } else if lead < MIN_EXP {
        Kind::Zero
    } else {
        Kind::Finite { mant, exp }
    }
}

/// A little-endian base-2^32 unsigned big integer, trimmed (no high zero limbs).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Big(Vec<u32>);

impl Big {
    fn zero() -> Self {
        Big(Vec::new())
    }

    fn from_u64(v: u64) -> Self {
        let mut b = Big(vec![v as u32, (v >> 32) as u32]);
        b.trim();
        b
    }

    fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    fn bit_len(&self) -> usize {
        match self.0.last() {
            None => 0,
            Some(&top) => (self.0.len() - 1) * 32 + (32 - top.leading_zeros() as usize),
        }
    }

    /// About `log10(self)`, rounded up.
    fn decimal_len_estimate(&self) -> i64 {
        (self.bit_len() as i64 * 30103) / 100000 + 1
    }

    fn low_u64(&self) -> u64 {
        let lo = u64::from(self.0.first().copied().unwrap_or(0));
        let hi = u64::from(self.0.get(1).copied().unwrap_or(0));
        lo | (hi << 32)
    }

    fn bit(&self, i: usize) -> bool {
        self.0
            .get(i / 32)
            .is_some_and(|limb| (limb >> (i % 32)) & 1 == 1)
    }

    /// True if any bit below position `i` (exclusive) is set.
    fn any_below(&self, i: usize) -> bool {
        let full = i / 32;
        if self.0.iter().take(full).any(|&l| l != 0) {
            return true;
        }
        let rem = i % 32;
        rem > 0
            && self
                .0
                .get(full)
                .is_some_and(|&l| l & ((1u32 << rem) - 1) != 0)
    }

    fn mul_small(&mut self, m: u32) {
        let mut carry = 0u64;
        for limb in &mut self.0 {
            let v = u64::from(*limb) * u64::from(m) + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry > 0 {
            self.0.push(carry as u32);
        }
        self.trim();
    }

    fn add_small(&mut self, a: u32) {
        let mut carry = u64::from(a);
        for limb in &mut self.0 {
            if carry == 0 {
                break;
            }
            let v = u64::from(*limb) + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry > 0 {
            self.0.push(carry as u32);
        }
    }

    fn add(&self, other: &Big) -> Big {
        let n = self.0.len().max(other.0.len());
        let mut out = Vec::with_capacity(n + 1);
        let mut carry = 0u64;
        for i in 0..n {
            let v = u64::from(self.0.get(i).copied().unwrap_or(0))
                + u64::from(other.0.get(i).copied().unwrap_or(0))
                + carry;
            out.push(v as u32);
            carry = v >> 32;
        }
        if carry > 0 {
            out.push(carry as u32);
        }
        let mut b = Big(out);
        b.trim();
        b
    }

    /// `self - other`, requires `self >= other`.
    fn sub(&self, other: &Big) -> Big {
        let mut out = Vec::with_capacity(self.0.len());
        let mut borrow = 0i64;
        for i in 0..self.0.len() {
            let mut v =
                i64::from(self.0[i]) - i64::from(other.0.get(i).copied().unwrap_or(0)) - borrow;
            if v < 0 {
                v += 1 << 32;
                borrow = 1;
            } else {
                borrow = 0;
            }
            out.push(v as u32);
        }
        let mut b = Big(out);
        b.trim();
        b
    }

    fn cmp(&self, other: &Big) -> Ordering {
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.iter().rev().cmp(other.0.iter().rev()))
    }

    fn shl(&self, bits: usize) -> Big {
        if self.is_zero() {
            return Big::zero();
        }
        let limbs = bits / 32;
        let rem = bits % 32;
        let mut out = vec![0u32; limbs];
        let mut carry = 0u32;
        for &l in &self.0 {
            if rem == 0 {
                out.push(l);
            } else {
                out.push((l << rem) | carry);
                carry = l >> (32 - rem);
            }
        }
        if carry > 0 {
            out.push(carry);
        }
        let mut b = Big(out);
        b.trim();
        b
    }

    fn shr(&self, bits: usize) -> Big {
        let limbs = bits / 32;
        let rem = bits % 32;
        if limbs >= self.0.len() {
            return Big::zero();
        }
        let src = &self.0[limbs..];
        let mut out = Vec::with_capacity(src.len());
        for i in 0..src.len() {
            let lo = src[i] >> rem;
            let hi = if rem == 0 {
                0
            } else {
                src.get(i + 1).map_or(0, |&h| h << (32 - rem))
            };
            out.push(lo | hi);
        }
        let mut b = Big(out);
        b.trim();
        b
    }

    /// Schoolbook binary long division: `(self / d, self % d)`; `d` must be non-zero.
    fn divmod(&self, d: &Big) -> (Big, Big) {
        if d.is_zero() || self.cmp(d) == Ordering::Less {
            return (Big::zero(), self.clone());
        }
        let mut q = vec![0u32; self.0.len()];
        let mut r = Big::zero();
        for i in (0..self.bit_len()).rev() {
            r = r.shl(1);
            if self.bit(i) {
                if r.0.is_empty() {
                    r.0.push(1);
                } else {
                    r.0[0] |= 1;
                }
            }
            if r.cmp(d) != Ordering::Less {
                r = r.sub(d);
                q[i / 32] |= 1 << (i % 32);
            }
        }
        let mut q = Big(q);
        q.trim();
        (q, r)
    }

    fn to_decimal(&self) -> String {
        if self.is_zero() {
            return "0".into();
        }
        let mut chunks = Vec::new();
        let mut n = self.clone();
        while !n.is_zero() {
            let mut rem = 0u64;
            for limb in n.0.iter_mut().rev() {
                let v = (rem << 32) | u64::from(*limb);
                *limb = (v / 1_000_000_000) as u32;
                rem = v % 1_000_000_000;
            }
            n.trim();
            chunks.push(rem as u32);
        }
        let mut s = String::new();
        for (i, c) in chunks.iter().rev().enumerate() {
            if i == 0 {
                s.push_str(&c.to_string());
            } else {
                s.push_str(&format!("{c:09}"));
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incr(a: &str, b: &str) -> String {
        let x = LongDouble::parse(a.as_bytes()).unwrap();
        let y = LongDouble::parse(b.as_bytes()).unwrap();
        x.add(&y).to_human_string()
    }

    #[test]
    fn matches_redis_long_double() {
        // Values checked against redis-server 7.0.15 (see tests/golden).
        assert_eq!(incr("0", "0.1"), "0.1");
        assert_eq!(incr("10.50", "0.1"), "10.6");
        assert_eq!(incr("5.0e3", "2.0e2"), "5200");
        assert_eq!(incr("0.1", "0.2"), "0.3");
        assert_eq!(incr("1", "-1"), "0");
        assert_eq!(incr("3", "1.5"), "4.5");
        assert_eq!(incr("0", "-0.000000000000000001"), "0");
        assert_eq!(incr("0", "1e20"), "100000000000000000000");
        assert_eq!(incr("1.1", "2.2"), "3.3");
    }

    #[test]
    fn parse_rejects_like_string2ld() {
        for bad in ["", " 1", "1 ", "abc", "nan", "1e5000", "1e-5000", "1e", "."] {
            assert!(LongDouble::parse(bad.as_bytes()).is_none(), "{bad}");
        }
        assert!(!LongDouble::parse(b"inf").unwrap().is_finite());
        assert!(LongDouble::parse(b"-0").is_some());
    }

    #[test]
    fn blocking_timeouts_round_up_to_milliseconds_like_redis() {
        let ms = |s: &str| LongDouble::parse(s.as_bytes()).unwrap().ceil_thousandfold();
        assert_eq!(ms("0"), 0);
        assert_eq!(ms("1.5"), 1500);
        assert_eq!(ms("0.0001"), 1);
        assert_eq!(ms("1e-400"), 1);
        assert_eq!(ms("0.1"), 100);
        // `ceill(-0.1)` is -0: a tiny negative timeout blocks for ever, as in Redis.
        assert_eq!(ms("-0.0001"), 0);
        assert_eq!(ms("-1"), -1000);
        assert_eq!(ms("9223372036854775"), 9_223_372_036_854_775_000);
        // Past a long long, and the infinities, Redis reads the x87 "integer indefinite".
        for huge in [
            "9223372036854775807",
            "92233720368547758",
            "1e30",
            "inf",
            "-inf",
        ] {
            assert_eq!(ms(huge), i64::MIN, "{huge}");
        }
    }

    #[test]
    fn big_division() {
        let a = Big::from_u64(1_000_000_007);
        let (q, r) = a.divmod(&Big::from_u64(10));
        assert_eq!(q.to_decimal(), "100000000");
        assert_eq!(r.to_decimal(), "7");
    }
}
