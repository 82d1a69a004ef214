//! A run's actions as the text of a Share link (`#runz=`): JSON, LZ4-compressed, in URL-safe
//! base64. The JSON of a long session repeats the same keys and node names thousands of
//! times, so it shrinks about tenfold; percent-encoding it (the older `#run=` links, still
//! read) made it three times longer instead. A browser opens URLs of up to 2 MB
//! ([`URL_MAX`]): past that the page offers the run as a file.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::timeline::Recorded;

/// The longest URL Chromium opens (`url::kMaxURLChars`, 2 MiB); Firefox takes more.
pub const URL_MAX: usize = 2 * 1024 * 1024;

/// The largest JSON a link may unpack to: a link declares its unpacked size, and a forged
/// one must not make the page allocate gigabytes before it finds out.
pub const MAX_UNPACKED: usize = 64 * 1024 * 1024;

/// `actions` as link text.
pub fn pack(actions: &[Recorded]) -> Result<String, String> {
    let json = crate::json::to_string(actions)?;
    Ok(URL_SAFE_NO_PAD.encode(lz4_flex::block::compress_prepend_size(json.as_bytes())))
}

/// The actions of link text made by [`pack`]; the error says what is wrong with it.
pub fn unpack(text: &str) -> Result<Vec<Recorded>, String> {
    let packed = URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|e| format!("the link's actions are not base64url: {e}"))?;
    let declared = packed
        .get(..4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .ok_or("the link's actions are cut short")?;
    if declared > MAX_UNPACKED {
        return Err(format!(
            "the link's actions would unpack to {} MB, more than this page reads ({} MB)",
            declared >> 20,
            MAX_UNPACKED >> 20
        ));
    }
    let json = lz4_flex::block::decompress_size_prepended(&packed)
        .map_err(|e| format!("the link's actions are damaged: {e}"))?;
    let json = String::from_utf8(json).map_err(|_| "the link's actions are not text")?;
    crate::json::from_str(&json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::timeline::Origin;
    use crate::sim::Action;

    fn session(n: u64) -> Vec<Recorded> {
        (0..n)
            .map(|i| Recorded {
                step: i * 37,
                time_us: 1_767_225_600_000_000 + i * 1000,
                origin: Origin::User,
                action: Action::Exec {
                    node: ["m", "r1", "r2"][i as usize % 3].into(),
                    command: format!("SET key:{} value-{}", i % 100, i),
                },
            })
            .collect()
    }

    #[test]
    fn a_session_survives_the_round_trip_and_shrinks() {
        let actions = session(2000);
        let text = pack(&actions).unwrap();
        assert_eq!(unpack(&text).unwrap(), actions);
        let json = crate::json::to_string(&actions).unwrap();
        assert!(
            text.len() * 4 < json.len(),
            "{} bytes of link for {} of JSON",
            text.len(),
            json.len()
        );
        assert!(text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    }

    #[test]
    fn a_link_packed_by_another_encoder_opens() {
        // The fuzzer's seed, written by a few lines of Python (LZ4 literals only, no match).
        let text = include_str!("../../fuzz/seeds/run_link/two-actions");
        let actions = unpack(text).unwrap();
        assert_eq!(actions.len(), 2);
        assert_eq!(
            actions[1].action,
            Action::Cut {
                a: "m".into(),
                b: "r1".into()
            }
        );
    }

    #[test]
    fn forged_or_damaged_links_are_refused_with_a_reason() {
        let mut huge = (u32::MAX).to_le_bytes().to_vec();
        huge.extend_from_slice(&[0; 16]);
        let err = unpack(&URL_SAFE_NO_PAD.encode(&huge)).unwrap_err();
        assert!(err.contains("more than this page reads"), "{err}");
        assert!(unpack("not base64!").unwrap_err().contains("base64url"));
        assert!(unpack("AA").unwrap_err().contains("cut short"));
        let text = pack(&session(10)).unwrap();
        let cut = &text[..text.len() - 10];
        assert!(unpack(cut).is_err());
    }
}
