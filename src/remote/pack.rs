//! Packs (DESIGN §7, docs/formats.md): immutable objects `packs/<oid>` holding chunks, each
//! behind a small record header, with a footer index so a pack alone can be verified and
//! re-indexed. Everything read here is untrusted: sizes are bounded, offsets checked, and
//! nothing is allocated from a size before it is checked.

use crate::hash::Oid;
use crate::remote::chunk::MAX_CHUNK;

/// A pack starts with these 8 bytes, then a version (u32 LE, 1) and flags (u32 LE, 0).
pub const MAGIC: &[u8; 8] = b"MVCPACK1";
/// The trailer ends with these 8 bytes.
pub const END_MAGIC: &[u8; 8] = b"MVCPEND1";
/// Header bytes before the first record.
pub const HEADER_LEN: u64 = 16;
/// Bytes of a record header: id (32), codec (1), raw length (u32 LE), stored length (u32 LE).
pub const RECORD_HEADER: u64 = 41;
/// Bytes of one footer index entry: a record header plus the record's offset (u64 LE).
pub const INDEX_ENTRY: u64 = 49;
/// Bytes of the trailer: entry count (u64), index offset (u64), BLAKE3 of the index (32), magic.
pub const TRAILER_LEN: u64 = 56;
/// A pack is closed once its records reach this size.
pub const TARGET_BYTES: usize = 64 << 20;
/// The most a stored (compressed) chunk may take: zstd's worst case stays well below this.
const MAX_STORED: u32 = MAX_CHUNK + (64 << 10);
/// A chunk is stored compressed only when that saves at least this share (in tenths).
const MIN_SAVING_TENTHS: usize = 1;

/// How a chunk's bytes are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// As is.
    Raw,
    /// One zstd frame.
    Zstd,
}

impl Codec {
    fn byte(self) -> u8 {
        match self {
            Codec::Raw => 0,
            Codec::Zstd => 1,
        }
    }
}

/// One chunk in a pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// The chunk's id (BLAKE3 of its raw bytes).
    pub id: Oid,
    /// Where its record (header, then stored bytes) starts in the pack.
    pub offset: u64,
    /// How it is stored.
    pub codec: Codec,
    /// Its raw length.
    pub raw_len: u32,
    /// Its stored length (after the record header).
    pub stored_len: u32,
}

impl Entry {
    /// The record's length: header plus stored bytes.
    pub fn record_len(&self) -> u64 {
        RECORD_HEADER + self.stored_len as u64
    }
}

/// What is wrong with a pack's bytes.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PackError {
    /// The header or trailer magic is not mvc's.
    #[error("not an mvc pack (bad magic or version)")]
    BadMagic,
    /// Bytes end before a record or the footer does.
    #[error("truncated at byte {0}")]
    Truncated(u64),
    /// A record header is inconsistent.
    #[error("bad record at byte {offset}: {why}")]
    BadRecord {
        /// Where the record starts.
        offset: u64,
        /// What is wrong.
        why: &'static str,
    },
    /// A chunk's bytes do not hash to its id.
    #[error("chunk {id} at byte {offset} does not match its id")]
    ChunkMismatch {
        /// The id the record claims.
        id: Oid,
        /// Where the record starts.
        offset: u64,
    },
    /// The footer index is inconsistent with the records.
    #[error("bad footer index: {0}")]
    BadIndex(&'static str),
}

/// Encodes a chunk: zstd when that saves at least 10%, raw otherwise.
pub fn encode(raw: &[u8]) -> (Codec, Vec<u8>) {
    if raw.len() >= 64
        && let Ok(z) = zstd::bulk::compress(raw, 3)
        && z.len() * 10 <= raw.len() * (10 - MIN_SAVING_TENTHS)
    {
        return (Codec::Zstd, z);
    }
    (Codec::Raw, raw.to_vec())
}

/// Builds one pack in memory.
pub struct PackWriter {
    buf: Vec<u8>,
    entries: Vec<Entry>,
}

impl Default for PackWriter {
    fn default() -> PackWriter {
        let mut buf = Vec::with_capacity(1 << 20);
        buf.extend_from_slice(MAGIC);
        buf.extend_from_slice(&1u32.to_le_bytes());
        buf.extend_from_slice(&0u32.to_le_bytes());
        PackWriter { buf, entries: Vec::new() }
    }
}

impl PackWriter {
    /// Appends a chunk (`id` must be BLAKE3 of `raw`); returns its entry.
    pub fn add(&mut self, id: Oid, raw: &[u8]) -> Entry {
        let (codec, stored) = encode(raw);
        let entry = Entry {
            id,
            offset: self.buf.len() as u64,
            codec,
            raw_len: raw.len() as u32,
            stored_len: stored.len() as u32,
        };
        write_header(&mut self.buf, &entry);
        self.buf.extend_from_slice(&stored);
        self.entries.push(entry);
        entry
    }

    /// Bytes so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether no chunk was added.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Appends the footer; returns the pack's oid, bytes and entries.
    pub fn finish(mut self) -> (Oid, Vec<u8>, Vec<Entry>) {
        let index_offset = self.buf.len() as u64;
        let mut index = Vec::with_capacity(self.entries.len() * INDEX_ENTRY as usize);
        for e in &self.entries {
            write_header(&mut index, e);
            index.extend_from_slice(&e.offset.to_le_bytes());
        }
        let index_hash = blake3::hash(&index);
        self.buf.extend_from_slice(&index);
        self.buf.extend_from_slice(&(self.entries.len() as u64).to_le_bytes());
        self.buf.extend_from_slice(&index_offset.to_le_bytes());
        self.buf.extend_from_slice(index_hash.as_bytes());
        self.buf.extend_from_slice(END_MAGIC);
        (Oid::of_bytes(&self.buf), self.buf, self.entries)
    }
}

fn write_header(out: &mut Vec<u8>, e: &Entry) {
    out.extend_from_slice(e.id.as_bytes());
    out.push(e.codec.byte());
    out.extend_from_slice(&e.raw_len.to_le_bytes());
    out.extend_from_slice(&e.stored_len.to_le_bytes());
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// Parses a record header at `offset` (its first 41 bytes are `b`), bounding the sizes.
fn parse_header(b: &[u8], offset: u64) -> Result<Entry, PackError> {
    let id = Oid::from_bytes(b[..32].try_into().expect("32 bytes"));
    let codec = match b[32] {
        0 => Codec::Raw,
        1 => Codec::Zstd,
        _ => return Err(PackError::BadRecord { offset, why: "unknown codec" }),
    };
    let raw_len = u32_at(b, 33);
    let stored_len = u32_at(b, 37);
    if raw_len == 0 || raw_len > MAX_CHUNK {
        return Err(PackError::BadRecord { offset, why: "chunk length out of range" });
    }
    if stored_len > MAX_STORED || (codec == Codec::Raw && stored_len != raw_len) {
        return Err(PackError::BadRecord { offset, why: "stored length out of range" });
    }
    Ok(Entry { id, offset, codec, raw_len, stored_len })
}

/// Splits `bytes`, which hold consecutive records starting at pack byte `base`, into entries
/// and their stored bytes. Refuses a range that does not end exactly on a record boundary.
pub fn records(bytes: &[u8], base: u64) -> Result<Vec<(Entry, &[u8])>, PackError> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at < bytes.len() {
        let offset = base + at as u64;
        if bytes.len() - at < RECORD_HEADER as usize {
            return Err(PackError::Truncated(offset));
        }
        let e = parse_header(&bytes[at..at + RECORD_HEADER as usize], offset)?;
        let start = at + RECORD_HEADER as usize;
        let end = start + e.stored_len as usize;
        if end > bytes.len() {
            return Err(PackError::Truncated(offset));
        }
        out.push((e, &bytes[start..end]));
        at = end;
    }
    Ok(out)
}

/// A chunk's raw bytes, decoded (bounded by its declared length) and checked against its id.
pub fn decode(e: &Entry, stored: &[u8]) -> Result<Vec<u8>, PackError> {
    let raw = match e.codec {
        Codec::Raw => stored.to_vec(),
        Codec::Zstd => zstd::bulk::decompress(stored, e.raw_len as usize)
            .map_err(|_| PackError::ChunkMismatch { id: e.id, offset: e.offset })?,
    };
    if raw.len() != e.raw_len as usize || crate::remote::chunk::id_of(&raw) != e.id {
        return Err(PackError::ChunkMismatch { id: e.id, offset: e.offset });
    }
    Ok(raw)
}

/// Reads the trailer (the pack's last [`TRAILER_LEN`] bytes) of a pack `pack_len` long:
/// the entry count, where the index starts, and the index's hash.
pub fn trailer(tail: &[u8], pack_len: u64) -> Result<(u64, u64, [u8; 32]), PackError> {
    if tail.len() != TRAILER_LEN as usize || pack_len < HEADER_LEN + TRAILER_LEN {
        return Err(PackError::Truncated(pack_len));
    }
    if &tail[48..56] != END_MAGIC {
        return Err(PackError::BadMagic);
    }
    let count = u64_at(tail, 0);
    let index_offset = u64_at(tail, 8);
    let index_len = count.checked_mul(INDEX_ENTRY).ok_or(PackError::BadIndex("entry count out of range"))?;
    if index_offset < HEADER_LEN || index_offset.checked_add(index_len) != Some(pack_len - TRAILER_LEN) {
        return Err(PackError::BadIndex("index offset and count disagree with the pack's length"));
    }
    Ok((count, index_offset, tail[16..48].try_into().expect("32 bytes")))
}

/// Parses the footer index (checked against its hash): entries in order, records contiguous
/// from the header to the index.
pub fn index(bytes: &[u8], index_offset: u64, hash: &[u8; 32]) -> Result<Vec<Entry>, PackError> {
    if blake3::hash(bytes).as_bytes() != hash {
        return Err(PackError::BadIndex("index does not match its hash"));
    }
    if !bytes.len().is_multiple_of(INDEX_ENTRY as usize) {
        return Err(PackError::BadIndex("index length is not a whole number of entries"));
    }
    let mut out = Vec::new();
    let mut expect = HEADER_LEN;
    for raw in bytes.chunks_exact(INDEX_ENTRY as usize) {
        let offset = u64_at(raw, RECORD_HEADER as usize);
        if offset != expect {
            return Err(PackError::BadIndex("records are not contiguous"));
        }
        let e = parse_header(&raw[..RECORD_HEADER as usize], offset)?;
        expect = offset + e.record_len();
        out.push(e);
    }
    if expect != index_offset {
        return Err(PackError::BadIndex("records do not end where the index starts"));
    }
    Ok(out)
}

/// Verifies a whole pack: header, every record's chunk against its id, and the footer index
/// against the records. Returns the entries.
pub fn verify(pack: &[u8]) -> Result<Vec<Entry>, PackError> {
    let len = pack.len() as u64;
    if len < HEADER_LEN + TRAILER_LEN {
        return Err(PackError::Truncated(len));
    }
    if &pack[..8] != MAGIC || u32_at(pack, 8) != 1 || u32_at(pack, 12) != 0 {
        return Err(PackError::BadMagic);
    }
    let (_, index_offset, hash) = trailer(&pack[(len - TRAILER_LEN) as usize..], len)?;
    let listed = index(&pack[index_offset as usize..(len - TRAILER_LEN) as usize], index_offset, &hash)?;
    let found = reindex(pack, index_offset)?;
    if found != listed {
        return Err(PackError::BadIndex("index does not match the records"));
    }
    Ok(found)
}

/// Rebuilds a pack's index from its records alone (between the header and `end`), checking
/// every chunk against its id.
pub fn reindex(pack: &[u8], end: u64) -> Result<Vec<Entry>, PackError> {
    if pack.len() < HEADER_LEN as usize || &pack[..8] != MAGIC {
        return Err(PackError::BadMagic);
    }
    let end = (end as usize).min(pack.len());
    let mut out = Vec::new();
    for (e, stored) in records(&pack[HEADER_LEN as usize..end], HEADER_LEN)? {
        decode(&e, stored)?;
        out.push(e);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (Oid, Vec<u8>, Vec<Entry>) {
        let mut w = PackWriter::default();
        let a = b"abc".repeat(100);
        let b = crate::remote::chunk::tests::noise(5000, 1);
        w.add(Oid::of_bytes(&a), &a);
        w.add(Oid::of_bytes(&b), &b);
        w.finish()
    }

    #[test]
    fn a_pack_verifies_and_reindexes() {
        let (oid, bytes, entries) = sample();
        assert_eq!(oid, Oid::of_bytes(&bytes));
        assert_eq!(entries[0].codec, Codec::Zstd, "repetitive text compresses");
        assert_eq!(entries[1].codec, Codec::Raw, "noise does not");
        assert_eq!(verify(&bytes).unwrap(), entries);
        let end = entries[1].offset + entries[1].record_len();
        assert_eq!(reindex(&bytes[..end as usize], end).unwrap(), entries);
    }

    #[test]
    fn every_flipped_byte_is_caught() {
        let (_, bytes, _) = sample();
        for i in (0..bytes.len()).step_by(7) {
            let mut bad = bytes.clone();
            bad[i] ^= 0x40;
            assert!(verify(&bad).is_err(), "byte {i} flipped went unnoticed");
        }
        for cut in [0, 10, 16, 60, bytes.len() - 1] {
            assert!(verify(&bytes[..cut]).is_err(), "truncated at {cut}");
        }
    }

    #[test]
    fn hostile_headers_are_bounded() {
        let mut rec = vec![0u8; RECORD_HEADER as usize];
        rec[33..37].copy_from_slice(&u32::MAX.to_le_bytes());
        rec[37..41].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(records(&rec, 16), Err(PackError::BadRecord { offset: 16, .. })));
        let mut tail = vec![0u8; TRAILER_LEN as usize];
        tail[..8].copy_from_slice(&u64::MAX.to_le_bytes());
        tail[48..].copy_from_slice(END_MAGIC);
        assert!(trailer(&tail, 1000).is_err());
    }
}
