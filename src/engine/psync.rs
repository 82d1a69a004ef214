//! The master's PSYNC decision (`masterTryPartialResynchronization`, replication.c), as a pure
//! function over its inputs so the UI can show the checklist that led to `+CONTINUE` or
//! `+FULLRESYNC`, and tests can check every branch.

use serde::{Deserialize, Serialize};

/// Everything the master looks at when a replica sends `PSYNC <replid> <offset>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PsyncInputs {
    /// The replid the replica asked for (`?` forces a full sync).
    pub requested_replid: String,
    /// The first byte the replica is missing.
    pub requested_offset: i64,
    pub master_replid: String,
    pub master_replid2: String,
    /// Last offset (inclusive + 1) up to which `master_replid2` is valid; -1 when cleared.
    pub second_replid_offset: i64,
    pub master_repl_offset: i64,
    /// `(first_byte_offset, histlen)` of the backlog, `None` if there is no backlog.
    pub backlog: Option<(i64, i64)>,
}

/// Which rule decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PsyncRule {
    /// The replica sent `PSYNC ? -1`: it asks for a full sync on purpose.
    FullResyncRequested,
    /// The replid is neither the master's replid nor its replid2.
    ReplidMismatch,
    /// The replid is the master's replid2, but the offset is past `second_replid_offset`:
    /// the replica followed the old history further than this master did.
    Replid2OffsetTooHigh,
    /// The history matches but there is no backlog at all.
    NoBacklog,
    /// The history matches but the offset is before the backlog's first byte (overwritten).
    OffsetBeforeBacklog,
    /// The history matches but the offset is beyond what the master has produced.
    OffsetAfterBacklog,
    /// Same history and the bytes are in the backlog: continue from there.
    Continue,
}

/// The decision and the numbers behind it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PsyncDecision {
    pub inputs: PsyncInputs,
    pub rule: PsyncRule,
}

impl PsyncDecision {
    /// True for `+CONTINUE`.
    pub fn is_continue(&self) -> bool {
        self.rule == PsyncRule::Continue
    }

    /// Whether this failed PSYNC counts in `sync_partial_err` (not when the replid was `?`).
    pub fn counts_as_partial_err(&self) -> bool {
        !self.is_continue() && !self.inputs.requested_replid.starts_with('?')
    }

    /// The sentence Redis logs for this decision (server log and the UI's explanation).
    pub fn explanation(&self) -> String {
        let i = &self.inputs;
        match self.rule {
            PsyncRule::FullResyncRequested => "Full resync requested by replica".into(),
            PsyncRule::ReplidMismatch => format!(
                "Partial resynchronization not accepted: Replication ID mismatch (Replica asked for '{}', my replication IDs are '{}' and '{}')",
                i.requested_replid, i.master_replid, i.master_replid2
            ),
            PsyncRule::Replid2OffsetTooHigh => format!(
                "Partial resynchronization not accepted: Requested offset for second ID was {}, but I can reply up to {}",
                i.requested_offset, i.second_replid_offset
            ),
            PsyncRule::NoBacklog | PsyncRule::OffsetBeforeBacklog | PsyncRule::OffsetAfterBacklog => format!(
                "Unable to partial resync with replica for lack of backlog (Replica request was: {}).",
                i.requested_offset
            ),
            PsyncRule::Continue => {
                let len = i.master_repl_offset + 1 - i.requested_offset;
                format!(
                    "Partial resynchronization request accepted. Sending {} bytes of backlog starting from offset {}.",
                    len, i.requested_offset
                )
            }
        }
    }
}

/// Decides like `masterTryPartialResynchronization`: replids compare case-insensitively.
pub fn decide(inputs: PsyncInputs) -> PsyncDecision {
    let id = inputs.requested_replid.as_str();
    let same_id = id.eq_ignore_ascii_case(&inputs.master_replid);
    let same_id2 = id.eq_ignore_ascii_case(&inputs.master_replid2);
    let rule = if !same_id && (!same_id2 || inputs.requested_offset > inputs.second_replid_offset) {
        if id.starts_with('?') {
            PsyncRule::FullResyncRequested
        } else if !same_id2 {
            PsyncRule::ReplidMismatch
        } else {
            PsyncRule::Replid2OffsetTooHigh
        }
    } else {
        match inputs.backlog {
            None => PsyncRule::NoBacklog,
            Some((first, _)) if inputs.requested_offset < first => PsyncRule::OffsetBeforeBacklog,
            Some((first, histlen)) if inputs.requested_offset > first + histlen => {
                PsyncRule::OffsetAfterBacklog
            }
            Some(_) => PsyncRule::Continue,
        }
    };
    PsyncDecision { inputs, rule }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    const ZERO: &str = "0000000000000000000000000000000000000000";

    fn inputs(replid: &str, offset: i64) -> PsyncInputs {
        PsyncInputs {
            requested_replid: replid.into(),
            requested_offset: offset,
            master_replid: A.into(),
            master_replid2: ZERO.into(),
            second_replid_offset: -1,
            master_repl_offset: 1000,
            backlog: Some((501, 500)),
        }
    }

    #[test]
    fn window_edges_follow_redis() {
        assert_eq!(decide(inputs(A, 501)).rule, PsyncRule::Continue);
        // master_repl_offset + 1: accepted, sends 0 bytes.
        assert_eq!(decide(inputs(A, 1001)).rule, PsyncRule::Continue);
        assert_eq!(decide(inputs(A, 1002)).rule, PsyncRule::OffsetAfterBacklog);
        assert_eq!(decide(inputs(A, 500)).rule, PsyncRule::OffsetBeforeBacklog);
        let mut none = inputs(A, 600);
        none.backlog = None;
        assert_eq!(decide(none).rule, PsyncRule::NoBacklog);
    }

    #[test]
    fn ids_and_counters() {
        let q = decide(inputs("?", -1));
        assert_eq!(q.rule, PsyncRule::FullResyncRequested);
        assert!(!q.counts_as_partial_err());
        let m = decide(inputs(B, 600));
        assert_eq!(m.rule, PsyncRule::ReplidMismatch);
        assert!(m.counts_as_partial_err());
        assert!(decide(inputs(&A.to_uppercase(), 600)).is_continue());
    }

    #[test]
    fn replid2_is_valid_up_to_second_offset() {
        let mut i = inputs(B, 619);
        i.master_replid2 = B.into();
        i.second_replid_offset = 588;
        let d = decide(i.clone());
        assert_eq!(d.rule, PsyncRule::Replid2OffsetTooHigh);
        assert!(d
            .explanation()
            .contains("was 619, but I can reply up to 588"));
        i.requested_offset = 588;
        assert!(decide(i).is_continue());
    }
}
