//! Object ids (BLAKE3-256) and hashing of files and byte streams.
//! Large inputs are hashed on all cores with a fixed-size buffer, so memory never grows with
//! file size; an oid is exactly what `b3sum FILE` prints.

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Read size for streaming hashes. BLAKE3's rayon mode splits each buffer across all cores,
/// so a buffer this large keeps every core busy while bounding memory per open file.
pub const CHUNK: usize = 8 << 20;

/// Below this size, multi-threaded hashing costs more than it saves.
const RAYON_THRESHOLD: usize = 256 << 10;

/// A BLAKE3-256 digest naming an object: 64 lowercase hex characters when printed.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Oid([u8; 32]);

/// A string that is not 64 lowercase hex characters.
#[derive(Debug, thiserror::Error)]
#[error("invalid oid `{0}`: expected 64 lowercase hex characters")]
pub struct InvalidOid(pub String);

impl Oid {
    /// The raw 32 digest bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Builds an oid from raw digest bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Oid {
        Oid(bytes)
    }

    /// The oid of an in-memory byte string.
    pub fn of_bytes(bytes: &[u8]) -> Oid {
        let mut hasher = blake3::Hasher::new();
        update(&mut hasher, bytes);
        Oid(*hasher.finalize().as_bytes())
    }

    /// Lowercase hex form, as stored in pointers and object paths.
    pub fn to_hex(&self) -> String {
        let mut s = String::with_capacity(64);
        for b in self.0 {
            s.push(char::from_digit(u32::from(b >> 4), 16).expect("nibble is a hex digit"));
            s.push(char::from_digit(u32::from(b & 0xf), 16).expect("nibble is a hex digit"));
        }
        s
    }

    /// First 12 hex characters, for human-readable output.
    pub fn short(&self) -> String {
        self.to_hex()[..12].to_string()
    }
}

impl FromStr for Oid {
    type Err = InvalidOid;
    fn from_str(s: &str) -> Result<Oid, InvalidOid> {
        let bytes = s.as_bytes();
        let valid = bytes.len() == 64 && bytes.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !valid {
            return Err(InvalidOid(crate::text::sanitize(&s.chars().take(80).collect::<String>())));
        }
        let mut out = [0u8; 32];
        for (i, pair) in bytes.chunks(2).enumerate() {
            let hi = (pair[0] as char).to_digit(16).expect("checked hex");
            let lo = (pair[1] as char).to_digit(16).expect("checked hex");
            out[i] = (hi * 16 + lo) as u8;
        }
        Ok(Oid(out))
    }
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Oid({})", self.short())
    }
}

impl Serialize for Oid {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Oid {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Oid, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

fn update(hasher: &mut blake3::Hasher, bytes: &[u8]) {
    if bytes.len() >= RAYON_THRESHOLD {
        hasher.update_rayon(bytes);
    } else {
        hasher.update(bytes);
    }
}

/// Result of streaming a reader through the hasher.
#[derive(Debug, Clone, Copy)]
pub struct Hashed {
    /// The content's oid.
    pub oid: Oid,
    /// Bytes read.
    pub size: u64,
}

/// Streams `reader` through BLAKE3, also writing every byte to `copy` when given, so a file
/// is read once to both hash and store it. `on_bytes` is told of progress after each chunk.
pub fn hash_stream(
    reader: &mut dyn Read,
    copy: Option<&mut dyn Write>,
    on_bytes: &mut dyn FnMut(u64),
) -> io::Result<Hashed> {
    // One buffer per thread, reused: allocating (and zeroing) 8 MiB for each of 20,000 small
    // files would cost more than hashing them. The buffer is taken out of the thread-local for
    // the whole hash and put back after, never borrowed across `update_rayon`: while this
    // thread waits for its rayon jobs it may run another file's hash (work stealing), which
    // then finds no buffer and allocates its own instead of failing.
    thread_local! {
        static BUFFER: std::cell::Cell<Option<Vec<u8>>> = const { std::cell::Cell::new(None) };
    }
    let mut buf = BUFFER.take().unwrap_or_default();
    if buf.len() < CHUNK {
        buf.resize(CHUNK, 0);
    }
    let result = hash_with(reader, copy, on_bytes, &mut buf);
    BUFFER.set(Some(buf));
    result
}

fn hash_with(
    reader: &mut dyn Read,
    mut copy: Option<&mut dyn Write>,
    on_bytes: &mut dyn FnMut(u64),
    buf: &mut [u8],
) -> io::Result<Hashed> {
    let mut hasher = blake3::Hasher::new();
    let mut size = 0u64;
    loop {
        let n = read_full(reader, buf)?;
        if n == 0 {
            break;
        }
        update(&mut hasher, &buf[..n]);
        if let Some(w) = copy.as_deref_mut() {
            w.write_all(&buf[..n])?;
        }
        size += n as u64;
        on_bytes(n as u64);
    }
    Ok(Hashed { oid: Oid(*hasher.finalize().as_bytes()), size })
}

/// Fills `buf` as far as the reader allows, so each hasher update sees a large slice.
fn read_full(reader: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Hashes a file by streaming it through one reused 8 MiB buffer, each chunk on all cores.
/// Never memory-mapped: workspace files may change under us, and a mapped 100 GB object would
/// count against the process's memory.
pub fn hash_file(path: &Path, on_bytes: &mut dyn FnMut(u64)) -> io::Result<Hashed> {
    let mut file = File::open(path)?;
    hash_stream(&mut file, None, on_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_input_matches_b3sum() {
        // `b3sum /dev/null`
        assert_eq!(Oid::of_bytes(b"").to_hex(), "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262");
    }

    #[test]
    fn hex_round_trip_and_rejects_bad_input() {
        let oid = Oid::of_bytes(b"abc");
        assert_eq!(oid.to_hex().parse::<Oid>().unwrap(), oid);
        assert!("ABC".parse::<Oid>().is_err());
        assert!(oid.to_hex().to_uppercase().parse::<Oid>().is_err());
        assert!(format!("{}0", oid.to_hex()).parse::<Oid>().is_err());
    }

    #[test]
    fn streaming_equals_one_shot_across_chunk_boundaries() {
        let data: Vec<u8> = (0..(CHUNK * 2 + 12345)).map(|i| (i * 7 % 251) as u8).collect();
        let mut copy = Vec::new();
        let hashed = hash_stream(&mut &data[..], Some(&mut copy), &mut |_| {}).unwrap();
        assert_eq!(hashed.oid, Oid::of_bytes(&data));
        assert_eq!(hashed.size, data.len() as u64);
        assert_eq!(copy, data);
    }

    /// Rayon's work stealing runs another file's hash on a thread that is waiting inside
    /// `update_rayon`; that nested hash must work (it once failed "hash_stream re-entered").
    #[test]
    fn parallel_hashes_on_a_busy_pool_are_all_correct() {
        use rayon::prelude::*;
        let dir = tempfile::tempdir().unwrap();
        let files: Vec<(std::path::PathBuf, Vec<u8>)> = (0..64u32)
            .map(|i| {
                let len = RAYON_THRESHOLD + (i as usize % 16) * (97 << 10) + i as usize;
                let data: Vec<u8> = (0..len).map(|j| (j as u32 ^ i.wrapping_mul(2654435761)) as u8).collect();
                let path = dir.path().join(format!("f{i}"));
                std::fs::write(&path, &data).unwrap();
                (path, data)
            })
            .collect();
        let pool = rayon::ThreadPoolBuilder::new().num_threads(8).build().unwrap();
        for _round in 0..8 {
            let results: Vec<io::Result<Hashed>> =
                pool.install(|| files.par_iter().map(|(p, _)| hash_file(p, &mut |_| {})).collect());
            for ((path, data), result) in files.iter().zip(results) {
                let hashed = result.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                assert_eq!(hashed.oid.as_bytes(), blake3::hash(data).as_bytes(), "{}", path.display());
                assert_eq!(hashed.size, data.len() as u64);
            }
        }
    }

    /// The same thread may start a second hash while one is in progress (here from the
    /// progress callback, as a stolen rayon job would): both must succeed.
    #[test]
    fn a_hash_started_inside_another_on_the_same_thread_works() {
        let outer: Vec<u8> = (0..(RAYON_THRESHOLD * 3)).map(|i| (i % 253) as u8).collect();
        let inner: Vec<u8> = (0..(RAYON_THRESHOLD * 2)).map(|i| (i % 241) as u8).collect();
        let mut nested = Vec::new();
        let hashed = hash_stream(&mut &outer[..], None, &mut |_| {
            nested.push(hash_stream(&mut &inner[..], None, &mut |_| {}).map(|h| h.oid));
        })
        .unwrap();
        assert_eq!(hashed.oid.as_bytes(), blake3::hash(&outer).as_bytes());
        assert!(!nested.is_empty());
        for oid in nested {
            assert_eq!(oid.unwrap().as_bytes(), blake3::hash(&inner).as_bytes());
        }
    }
}
