//! An RDB loaded as its bytes arrive. A replica receiving a full sync cannot hold the whole
//! payload before loading it: Redis writes it to a temporary file at constant memory, and a
//! master may stream one that never ends. The loader parses every complete top-level item
//! (an opcode, or a key and its value) as soon as its last byte is in, so it holds the
//! dataset loaded so far and the one item still incomplete, never the file.

use std::fmt;

use super::{
    expire_time, module_name, repl_info, Loaded, RdbError, Reader, OPCODE_AUX, OPCODE_EOF,
    OPCODE_EXPIRETIME, OPCODE_EXPIRETIME_MS, OPCODE_FREQ, OPCODE_FUNCTION, OPCODE_FUNCTION2,
    OPCODE_IDLE, OPCODE_MODULE_AUX, OPCODE_RESIZEDB, OPCODE_SELECTDB, RDB_VERSION,
};
use crate::engine::keyspace::{Db, Entry, Keyspace, DB_COUNT};

/// "REDIS" and four version digits.
const MAGIC_LEN: usize = 9;
/// The CRC64 after the EOF opcode (RDB version 5 and later).
const CHECKSUM_LEN: usize = 8;
/// After an item found incomplete, the loader tries it again only once this many more bytes
/// (or as many as it already holds, if more) have come: an item arriving in many small reads
/// is parsed a few times, not once per read (a big list would cost its size squared).
const RETRY_BYTES_MIN: usize = 64 * 1024;

/// The CRC-64/Jones of `rdb::crc64`, kept running over the bytes loaded so far.
static CRC64: crc::Crc<u64> = crc::Crc::<u64>::new(&crc::CRC_64_REDIS);

/// What one top-level item did.
enum Step {
    /// Go on with the next item.
    Item,
    /// The EOF opcode: the checksum (if the version has one) comes next.
    Eof,
}

/// An RDB parsed incrementally: [`Loader::feed`] the bytes in any pieces, then
/// [`Loader::finish`]. [`super::load`] is the same with one piece.
#[derive(Clone)]
pub struct Loader {
    /// The RDB version, once the magic is in.
    version: Option<u32>,
    /// Bytes of the item not complete yet.
    pending: Vec<u8>,
    /// Offset in the file of `pending[0]`.
    base: usize,
    /// `pending`'s length at which to try its item again.
    retry_at: usize,
    keyspace: Keyspace,
    aux: Vec<(String, String)>,
    functions: Vec<Vec<u8>>,
    dbid: usize,
    /// An EXPIRETIME opcode's time, for the key that follows it.
    expire: Option<i64>,
    /// Over every byte before the checksum.
    crc: crc::Digest<'static, u64>,
    /// The EOF opcode was read (and the checksum, from version 5 on, checked).
    eof: bool,
}

impl fmt::Debug for Loader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Loader")
            .field("version", &self.version)
            .field("base", &self.base)
            .field("pending", &self.pending.len())
            .field("eof", &self.eof)
            .finish_non_exhaustive()
    }
}

impl Default for Loader {
    fn default() -> Self {
        Loader::new()
    }
}

impl Loader {
    pub fn new() -> Loader {
        Loader {
            version: None,
            pending: Vec::new(),
            base: 0,
            retry_at: 0,
            keyspace: Keyspace::default(),
            aux: Vec::new(),
            functions: Vec::new(),
            dbid: 0,
            expire: None,
            crc: CRC64.digest(),
            eof: false,
        }
    }

    /// Bytes held for the item not complete yet.
    #[cfg(test)]
    fn pending_bytes(&self) -> usize {
        self.pending.len()
    }

    /// Loads what `bytes` completes. An error is final: the file is corrupt (or not an RDB),
    /// whatever comes next.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<(), RdbError> {
        if self.eof {
            return Ok(());
        }
        if self.pending.is_empty() {
            // Parsed where the bytes are; only an incomplete last item is copied.
            let used = self.parse(bytes, false)?;
            self.base += used;
            self.pending.extend_from_slice(&bytes[used..]);
            self.note_incomplete();
            return Ok(());
        }
        self.pending.extend_from_slice(bytes);
        if self.pending.len() < self.retry_at {
            return Ok(());
        }
        self.parse_pending(false)
    }

    /// The AUX fields read so far (those `rdbLoadRio` has logged before an error).
    pub fn aux(&self) -> &[(String, String)] {
        &self.aux
    }

    /// The loaded RDB, once every byte is in: an item still incomplete is an error.
    pub fn finish(mut self) -> Result<Loaded, RdbError> {
        if !self.eof {
            self.parse_pending(true)?;
        }
        let repl = repl_info(&self.aux);
        Ok(Loaded {
            keyspace: self.keyspace,
            aux: self.aux,
            repl,
            functions: self.functions,
        })
    }

    fn parse_pending(&mut self, last: bool) -> Result<(), RdbError> {
        let pending = std::mem::take(&mut self.pending);
        let result = self.parse(&pending, last);
        self.pending = pending;
        let used = result?;
        self.pending.drain(..used);
        self.base += used;
        self.note_incomplete();
        Ok(())
    }

    /// After a parse that left an incomplete item, when to try it again.
    fn note_incomplete(&mut self) {
        let held = self.pending.len();
        self.retry_at = held + held.max(RETRY_BYTES_MIN);
        if self.eof {
            self.pending = Vec::new();
        }
    }

    /// Parses the complete items at the start of `buf` (at file offset `self.base`); returns
    /// how many bytes they took. With `last`, nothing more will come: an incomplete item is
    /// the error it is.
    fn parse(&mut self, buf: &[u8], last: bool) -> Result<usize, RdbError> {
        let mut r = Reader::new(buf);
        r.base = self.base;
        let mut used = 0;
        while !self.eof {
            let step = if self.version.is_none() {
                self.magic(&mut r).map(|()| Step::Item)
            } else {
                self.item(&mut r)
            };
            let step = match step {
                Ok(step) => step,
                Err(_) if r.truncated && !last => break,
                Err(e) => return Err(e),
            };
            if let Step::Eof = step {
                // The EOF opcode counts as read only with the whole checksum after it: a
                // checksum cut by the end of `buf` is parsed again, opcode first, with the
                // bytes that complete it.
                let mut crc = self.crc.clone();
                crc.update(&buf[used..r.pos]);
                match self.checksum(&mut r, crc.clone()) {
                    Ok(()) => {}
                    Err(_) if r.truncated && !last => break,
                    Err(e) => return Err(e),
                }
                self.crc = crc;
                self.eof = true;
                return Ok(r.pos);
            }
            self.crc.update(&buf[used..r.pos]);
            used = r.pos;
        }
        Ok(used)
    }

    /// "REDIS" and a version Redis 7.0 reads.
    fn magic(&mut self, r: &mut Reader) -> Result<(), RdbError> {
        let magic = r.take(MAGIC_LEN as u64)?;
        if &magic[..5] != b"REDIS" {
            return Err(r.err_at(0, "Wrong signature trying to load DB from file"));
        }
        let version = magic[5..].iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        });
        match version {
            Some(v) if (1..=u32::from(RDB_VERSION)).contains(&v) => {
                self.version = Some(v);
                Ok(())
            }
            _ => Err(r.err_at(
                5,
                format!(
                    "Can't handle RDB format version {}",
                    String::from_utf8_lossy(&magic[5..])
                ),
            )),
        }
    }

    /// The stored CRC64 (version 5 on), against the running one; a stored 0 means "not
    /// computed", as in Redis.
    fn checksum(&self, r: &mut Reader, crc: crc::Digest<'static, u64>) -> Result<(), RdbError> {
        if self.version.is_some_and(|v| v < 5) {
            return Ok(());
        }
        let sum_at = r.pos;
        let stored = u64::from_le_bytes(r.array::<CHECKSUM_LEN>()?);
        let expected = crc.finalize();
        if stored != 0 && stored != expected {
            return Err(r.err_at(
                sum_at,
                format!("RDB CRC error: Wrong RDB checksum expected: ({expected:x}) but got ({stored:x})"),
            ));
        }
        Ok(())
    }

    /// One top-level item of `rdbLoadRioWithLoadingCtx`. Nothing changes unless it is
    /// complete: the state an opcode sets is written after its last read.
    fn item(&mut self, r: &mut Reader) -> Result<Step, RdbError> {
        let op_at = r.pos;
        let op = r.u8()?;
        match op {
            OPCODE_EXPIRETIME => {
                let secs = i32::from_le_bytes(r.array::<4>()?);
                self.expire = expire_time(i64::from(secs) * 1000);
            }
            OPCODE_EXPIRETIME_MS => {
                self.expire = expire_time(i64::from_le_bytes(r.array::<8>()?));
            }
            OPCODE_FREQ => {
                r.u8()?;
            }
            OPCODE_IDLE => {
                r.len()?;
            }
            OPCODE_EOF => return Ok(Step::Eof),
            OPCODE_SELECTDB => {
                let id = r.len()?;
                if id >= DB_COUNT as u64 {
                    return Err(r.err_at(
                        op_at,
                        format!(
                            "FATAL: Data file was created with a Redis server configured to handle more than {DB_COUNT} databases (SELECTDB {id})"
                        ),
                    ));
                }
                self.dbid = id as usize;
            }
            OPCODE_RESIZEDB => {
                r.len()?;
                r.len()?;
            }
            OPCODE_AUX => {
                let k = r.string()?;
                let v = r.string()?;
                self.aux.push((
                    String::from_utf8_lossy(&k).into_owned(),
                    String::from_utf8_lossy(&v).into_owned(),
                ));
            }
            OPCODE_MODULE_AUX => {
                let id = r.len()?;
                return Err(r.err_at(
                    op_at,
                    format!(
                        "The RDB file contains AUX module data I can't load: no matching module '{}' (replscope supports no modules)",
                        module_name(id)
                    ),
                ));
            }
            OPCODE_FUNCTION2 => self.functions.push(r.string()?),
            OPCODE_FUNCTION => {
                // 7.0-rc1/rc2 format, translated to the new payload as rdbFunctionLoad does.
                let name = r.string()?;
                let engine = r.string()?;
                if r.len()? != 0 {
                    r.string()?;
                }
                let code = r.string()?;
                let mut payload = format!(
                    "#!{} name={}\n",
                    String::from_utf8_lossy(&engine),
                    String::from_utf8_lossy(&name)
                )
                .into_bytes();
                payload.extend_from_slice(&code);
                self.functions.push(payload);
            }
            ty => {
                let key_at = r.pos;
                let key = r.string()?;
                let value = r.object(ty, op_at)?;
                if let Some(value) = value {
                    let dbid = self.dbid;
                    let db: &mut Db = self.keyspace.db_mut(dbid);
                    if db.contains_key(&key) {
                        return Err(r.err_at(
                            key_at,
                            format!(
                                "Duplicated key found in RDB file: '{}' in DB {dbid}",
                                String::from_utf8_lossy(&key)
                            ),
                        ));
                    }
                    db.insert(
                        key,
                        Entry {
                            value,
                            expire_at_ms: self.expire,
                        },
                    );
                }
                // Empty keys are skipped silently, as Redis 7.0 does (see #8453).
                self.expire = None;
            }
        }
        Ok(Step::Item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::keyspace::Value;
    use crate::engine::rdb::{load, save, SaveOptions};

    fn sample() -> Vec<u8> {
        let mut ks = Keyspace::default();
        for i in 0..300 {
            ks.db_mut(i % 3).insert(
                format!("key{i}").into_bytes(),
                Entry {
                    value: Value::String(format!("value-{i}-{}", "x".repeat(i)).into_bytes()),
                    expire_at_ms: (i % 7 == 0).then_some(1_000_000 + i as i64),
                },
            );
        }
        save(
            &ks,
            &SaveOptions {
                redis_ver: "7.0.15",
                ctime_secs: 1,
                used_mem: 1,
                rdbcompression: true,
                repl: None,
            },
        )
    }

    #[test]
    fn bytes_in_any_pieces_load_as_the_whole_file() {
        let rdb = sample();
        let whole = load(&rdb).unwrap();
        for piece in [1, 7, 100, 4096] {
            let mut loader = Loader::new();
            for chunk in rdb.chunks(piece) {
                loader.feed(chunk).unwrap();
                assert!(loader.pending_bytes() < 2 * RETRY_BYTES_MIN + rdb.len() / 10);
            }
            assert_eq!(loader.finish().unwrap(), whole, "piece {piece}");
        }
    }

    /// Two pieces, cut anywhere: in particular inside the checksum, after the EOF opcode (a
    /// replica once failed full syncs whose payload arrived cut there).
    #[test]
    fn two_pieces_cut_anywhere_load_as_the_whole_file() {
        let rdb = sample();
        let whole = load(&rdb).unwrap();
        let near_end = rdb.len() - 64..rdb.len();
        for cut in (1..rdb.len()).step_by(97).chain(near_end) {
            let mut loader = Loader::new();
            loader.feed(&rdb[..cut]).unwrap();
            loader.feed(&rdb[cut..]).unwrap();
            assert_eq!(loader.finish().unwrap(), whole, "cut at {cut}");
        }
    }

    #[test]
    fn a_truncated_file_fails_at_the_end_and_a_corrupt_one_at_once() {
        let rdb = sample();
        let mut loader = Loader::new();
        loader.feed(&rdb[..rdb.len() - 3]).unwrap();
        let err = loader.finish().unwrap_err();
        assert_eq!(err.reason, "Unexpected EOF reading RDB file");

        let mut bad = rdb.clone();
        let at = bad.len() - 5;
        bad[at] ^= 0xff;
        let mut loader = Loader::new();
        let err = loader.feed(&bad).unwrap_err();
        assert!(err.reason.starts_with("RDB CRC error"), "{err}");

        let mut loader = Loader::new();
        let err = loader.feed(b"REDIS0010\xfe\xff\xff").unwrap_err();
        assert!(err.reason.starts_with("FATAL"), "{err}");
    }

    #[test]
    fn bytes_after_the_checksum_are_not_part_of_it() {
        let mut rdb = sample();
        let whole = load(&rdb).unwrap();
        rdb.extend_from_slice(b"trailing garbage");
        let mut loader = Loader::new();
        loader.feed(&rdb).unwrap();
        loader.feed(b"and more").unwrap();
        assert_eq!(loader.pending_bytes(), 0);
        assert_eq!(loader.finish().unwrap(), whole);
    }
}
