//! A full sync's RDB payload as the replica receives it (`readSyncBulkPayload`): where it
//! ends (`$<size>`, or the `$EOF:<mark>` of a diskless master) and where its bytes go.
//!
//! Redis writes the payload to a temporary file at constant memory and loads the file once
//! it is all in; a payload that never ends costs it disk, not memory. The engine has no disk:
//! it loads the bytes as they come ([`rdb::Loader`]), so it holds the dataset loaded so far,
//! never the payload. Like Redis's disk, that has a limit: past [`TRANSFER_BYTES_MAX`] the
//! sync fails as Redis's does when its temporary file cannot be written, and is retried.
//! A payload that is not a valid RDB is read to its end and dropped as it comes (Redis would
//! keep writing it to its file), and its load fails then, as Redis's does.

use super::rdb::{self, Loaded, RdbError};

/// The most payload bytes a replica loads in one full sync: a master's dataset bigger than
/// this is refused (the sync fails and is retried) rather than held without bound. 512 MB,
/// Redis's `proto-max-bulk-len`: as much as one value a client may write.
pub(crate) const TRANSFER_BYTES_MAX: usize = 512 * 1024 * 1024;

/// `CONFIG_RUN_ID_SIZE`: the length of a diskless payload's end mark.
pub(crate) const EOF_MARK_LEN: usize = 40;

/// How the payload is delimited.
#[derive(Clone, Debug)]
pub(crate) enum Delimiter {
    /// `$<size>\r\n`: exactly `size` bytes.
    Size(usize),
    /// `$EOF:<mark>\r\n`: until the 40-byte mark.
    Mark([u8; EOF_MARK_LEN]),
}

/// What a [`Transfer::feed`] led to.
pub(crate) enum Progress {
    /// More payload to come.
    Reading,
    /// The payload is over: the RDB it held (or why it could not be loaded), its size, and
    /// the bytes after it (already the stream).
    Done {
        loaded: Result<Loaded, RdbError>,
        bytes: usize,
        rest: Vec<u8>,
    },
    /// Past `bytes_max`: the sync fails now.
    TooBig,
}

/// One payload being received.
#[derive(Clone, Debug)]
pub(crate) struct Transfer {
    delimiter: Delimiter,
    /// Payload bytes read so far (`repl_transfer_read`).
    read: usize,
    /// A diskless payload's last bytes, held back since they may be the mark (`lastbytes`).
    tail: Vec<u8>,
    /// `None` once the load failed (`failed` says why): the rest is dropped as it comes.
    loader: Option<rdb::Loader>,
    failed: Option<RdbError>,
    /// The AUX fields the loader had read when it failed (Redis logs them as it meets them).
    failed_aux: Vec<(String, String)>,
    /// Bytes given to the loader, and how many it may take.
    loaded: usize,
    bytes_max: usize,
    /// With a file on disk (`repl-diskless-load disabled`): the payload bytes of the last
    /// [`Transfer::feed`], for the driver to append to it (never the end mark).
    to_file: Option<Vec<u8>>,
}

impl Transfer {
    /// `to_file`: the payload is also written to a file as it comes (see
    /// [`Transfer::take_file_bytes`]).
    pub(crate) fn new(delimiter: Delimiter, bytes_max: usize, to_file: bool) -> Transfer {
        Transfer {
            delimiter,
            read: 0,
            tail: Vec::new(),
            loader: Some(rdb::Loader::new()),
            failed: None,
            failed_aux: Vec::new(),
            loaded: 0,
            bytes_max,
            to_file: to_file.then(Vec::new),
        }
    }

    /// The payload bytes the last [`Transfer::feed`] read, for the file on disk (empty
    /// without one): at most what that feed was given.
    pub(crate) fn take_file_bytes(&mut self) -> Vec<u8> {
        self.to_file
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// `master_sync_total_bytes`: the size, or 0 for a diskless payload (unknown).
    pub(crate) fn total(&self) -> i64 {
        match self.delimiter {
            Delimiter::Size(n) => n as i64,
            Delimiter::Mark(_) => 0,
        }
    }

    /// `master_sync_read_bytes`.
    pub(crate) fn read(&self) -> usize {
        self.read
    }

    /// The AUX fields read before the load failed (empty until it has).
    pub(crate) fn take_failed_aux(&mut self) -> Vec<(String, String)> {
        std::mem::take(&mut self.failed_aux)
    }

    pub(crate) fn is_diskless(&self) -> bool {
        matches!(self.delimiter, Delimiter::Mark(_))
    }

    /// Bytes of memory the transfer holds: its held-back tail and, while it loads, about
    /// the payload loaded so far (the dataset being built, at its encoded size).
    pub(crate) fn buffer_bytes(&self) -> usize {
        self.tail.capacity() + self.loader.as_ref().map_or(0, |_| self.loaded)
    }

    /// Bytes read from the master while the payload lasts.
    pub(crate) fn feed(&mut self, bytes: &[u8]) -> Progress {
        match self.delimiter {
            Delimiter::Size(size) => {
                let take = (size - self.read).min(bytes.len());
                self.read += take;
                if !self.load(&bytes[..take]) {
                    return Progress::TooBig;
                }
                if self.read < size {
                    return Progress::Reading;
                }
                self.done(bytes[take..].to_vec())
            }
            Delimiter::Mark(mark) => {
                self.read += bytes.len();
                let ok = if bytes.len() >= EOF_MARK_LEN {
                    let tail = std::mem::take(&mut self.tail);
                    let (body, last) = bytes.split_at(bytes.len() - EOF_MARK_LEN);
                    self.tail.extend_from_slice(last);
                    self.load(&tail) && self.load(body)
                } else {
                    self.tail.extend_from_slice(bytes);
                    let extra = self.tail.len().saturating_sub(EOF_MARK_LEN);
                    let head: Vec<u8> = self.tail.drain(..extra).collect();
                    self.load(&head)
                };
                if !ok {
                    return Progress::TooBig;
                }
                // Compared after each read, as Redis compares `lastbytes`: a mark followed
                // by more bytes in the same read is not the end.
                if self.tail != mark {
                    return Progress::Reading;
                }
                self.read -= EOF_MARK_LEN;
                self.done(Vec::new())
            }
        }
    }

    /// Gives payload bytes to the loader; false past the budget.
    fn load(&mut self, bytes: &[u8]) -> bool {
        if let Some(file) = self.to_file.as_mut() {
            file.extend_from_slice(bytes);
        }
        let Some(loader) = self.loader.as_mut() else {
            return true;
        };
        self.loaded += bytes.len();
        if self.loaded > self.bytes_max {
            return false;
        }
        if let Err(e) = loader.feed(bytes) {
            self.failed_aux = loader.aux().to_vec();
            self.failed = Some(e);
            self.loader = None;
        }
        true
    }

    fn done(&mut self, rest: Vec<u8>) -> Progress {
        let loaded = match (self.loader.take(), self.failed.take()) {
            (_, Some(e)) => Err(e),
            (Some(loader), None) => {
                self.failed_aux = loader.aux().to_vec();
                loader.finish()
            }
            (None, None) => unreachable!("a loader is only dropped with its error"),
        };
        Progress::Done {
            loaded,
            bytes: self.read,
            rest,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::keyspace::Keyspace;

    fn empty_rdb() -> Vec<u8> {
        rdb::save(
            &Keyspace::default(),
            &rdb::SaveOptions {
                redis_ver: "7.0.15",
                ctime_secs: 1,
                used_mem: 1,
                rdbcompression: true,
                repl: None,
            },
        )
    }

    fn mark() -> [u8; EOF_MARK_LEN] {
        [b'm'; EOF_MARK_LEN]
    }

    #[test]
    fn a_diskless_payload_ends_at_its_mark_in_any_pieces() {
        let mut payload = empty_rdb();
        payload.extend_from_slice(&mark());
        for piece in [1, 3, 39, 40, 41, 1000] {
            let mut t = Transfer::new(Delimiter::Mark(mark()), TRANSFER_BYTES_MAX, true);
            let chunks: Vec<&[u8]> = payload.chunks(piece).collect();
            let mut file = Vec::new();
            for (i, chunk) in chunks.iter().enumerate() {
                let progress = t.feed(chunk);
                file.extend(t.take_file_bytes());
                match progress {
                    Progress::Reading => assert!(i + 1 < chunks.len(), "piece {piece}"),
                    Progress::Done {
                        loaded,
                        bytes,
                        rest,
                    } => {
                        assert_eq!(i + 1, chunks.len(), "piece {piece}");
                        assert!(loaded.is_ok(), "piece {piece}");
                        assert_eq!(bytes, payload.len() - EOF_MARK_LEN);
                        assert!(rest.is_empty());
                    }
                    Progress::TooBig => panic!("piece {piece}"),
                }
            }
            // The file holds the payload without its end mark.
            assert_eq!(
                file,
                payload[..payload.len() - EOF_MARK_LEN],
                "piece {piece}"
            );
        }
    }

    #[test]
    fn a_sized_payload_hands_back_what_follows_it() {
        let rdb = empty_rdb();
        let mut t = Transfer::new(Delimiter::Size(rdb.len()), TRANSFER_BYTES_MAX, false);
        let mut bytes = rdb.clone();
        bytes.extend_from_slice(b"*1\r\n$4\r\nping\r\n");
        match t.feed(&bytes) {
            Progress::Done { loaded, rest, .. } => {
                assert!(loaded.is_ok());
                assert_eq!(rest, b"*1\r\n$4\r\nping\r\n");
            }
            _ => panic!("the payload is complete"),
        }
    }

    #[test]
    fn garbage_is_read_to_the_end_at_constant_memory_then_fails() {
        let mut t = Transfer::new(Delimiter::Mark(mark()), 1000, false);
        assert!(matches!(
            t.feed(b"REDIS0010\xfe\x00\x00\xff"),
            Progress::Reading
        ));
        let chunk = vec![0x42u8; 64 * 1024];
        for _ in 0..100 {
            assert!(matches!(t.feed(&chunk), Progress::Reading));
            assert!(t.buffer_bytes() <= 2 * EOF_MARK_LEN, "{}", t.buffer_bytes());
        }
        match t.feed(&mark()) {
            Progress::Done { loaded, .. } => assert!(loaded.is_err()),
            _ => panic!("the mark ends it"),
        }
    }

    #[test]
    fn a_payload_past_the_budget_fails_the_sync() {
        // A string that claims a gigabyte: its bytes are held until the budget is spent.
        let mut t = Transfer::new(Delimiter::Mark(mark()), 100_000, false);
        assert!(matches!(
            t.feed(b"REDIS0010\xfe\x00\x00\x01k\x80\x40\x00\x00\x00"),
            Progress::Reading
        ));
        let chunk = vec![b'x'; 30_000];
        let outcomes: Vec<bool> = (0..5)
            .map(|_| matches!(t.feed(&chunk), Progress::TooBig))
            .collect();
        assert_eq!(outcomes, [false, false, false, true, true]);
    }
}
