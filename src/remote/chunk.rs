//! Content-defined chunking for chunked remotes (DESIGN §7): FastCDC (2020) boundaries, so an
//! edit moves only nearby cuts, and chunk ids (BLAKE3 of a chunk's bytes).

use std::io::Read;

use fastcdc::v2020::{self, StreamCDC};
use serde::{Deserialize, Serialize};

use crate::hash::Oid;

/// The largest chunk any remote may declare; every parser bounds chunk sizes by it.
pub const MAX_CHUNK: u32 = 4 << 20;

/// FastCDC parameters, recorded in a chunked remote's `mvc-remote.yaml` so every client cuts
/// the same boundaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chunking {
    /// Smallest chunk (except an object's last).
    pub min: u32,
    /// Target average.
    pub avg: u32,
    /// Largest chunk.
    pub max: u32,
}

/// ~64 KiB average, 16 KiB min, 256 KiB max.
pub const DEFAULT: Chunking = Chunking { min: 16 << 10, avg: 64 << 10, max: 256 << 10 };

/// Chunking parameters outside what FastCDC (and mvc's parsers) accept.
#[derive(Debug, thiserror::Error)]
#[error(
    "chunking parameters min {min}, avg {avg}, max {max} are out of range (need {lo} <= min <= avg <= max <= {hi})"
)]
pub struct BadChunking {
    min: u32,
    avg: u32,
    max: u32,
    lo: u32,
    hi: u32,
}

impl Chunking {
    /// Refuses parameters FastCDC would panic on, or chunks larger than [`MAX_CHUNK`].
    pub fn check(&self) -> Result<(), BadChunking> {
        let Chunking { min, avg, max } = *self;
        let ok = (v2020::MINIMUM_MIN..=v2020::MINIMUM_MAX).contains(&min)
            && (v2020::AVERAGE_MIN..=v2020::AVERAGE_MAX).contains(&avg)
            && (v2020::MAXIMUM_MIN..=MAX_CHUNK).contains(&max)
            && min <= avg
            && avg <= max;
        if ok { Ok(()) } else { Err(BadChunking { min, avg, max, lo: v2020::MINIMUM_MIN, hi: MAX_CHUNK }) }
    }

    /// Splits `reader` into chunks, streaming (memory: one chunk). An empty input has no
    /// chunks; one smaller than `min` is one chunk.
    pub fn split<R: Read>(&self, reader: R) -> impl Iterator<Item = std::io::Result<Vec<u8>>> {
        self.check().expect("chunking parameters are checked when the marker is read");
        StreamCDC::new(reader, self.min, self.avg, self.max).map(|r| match r {
            Ok(c) => Ok(c.data),
            Err(v2020::Error::IoError(e)) => Err(e),
            Err(e) => Err(std::io::Error::other(e.to_string())),
        })
    }
}

/// A chunk's id: the BLAKE3 of its (uncompressed) bytes.
pub fn id_of(data: &[u8]) -> Oid {
    Oid::of_bytes(data)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Deterministic pseudo-random bytes (xorshift), incompressible like weights.
    pub(crate) fn noise(len: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
    }

    fn cuts(data: &[u8]) -> Vec<Vec<u8>> {
        DEFAULT.split(data).collect::<std::io::Result<_>>().unwrap()
    }

    #[test]
    fn chunks_respect_bounds_and_rebuild_the_input() {
        let data = noise(3 << 20, 7);
        let chunks = cuts(&data);
        assert_eq!(chunks.concat(), data);
        for c in &chunks[..chunks.len() - 1] {
            assert!(c.len() >= DEFAULT.min as usize && c.len() <= DEFAULT.max as usize, "{}", c.len());
        }
        let avg = data.len() / chunks.len();
        assert!((32 << 10..=128 << 10).contains(&avg), "average {avg}");
    }

    #[test]
    fn small_and_empty_inputs() {
        assert!(cuts(&[]).is_empty());
        assert_eq!(cuts(b"tiny"), vec![b"tiny".to_vec()]);
    }

    #[test]
    fn an_insertion_moves_only_nearby_boundaries() {
        let a = noise(2 << 20, 3);
        let mut b = a.clone();
        b.splice(1 << 20..1 << 20, noise(4096, 9));
        let ids_a: std::collections::HashSet<Oid> = cuts(&a).iter().map(|c| id_of(c)).collect();
        let chunks_b = cuts(&b);
        let new: usize = chunks_b.iter().filter(|c| !ids_a.contains(&id_of(c))).map(Vec::len).sum();
        assert!(new < 600 << 10, "{new} new bytes after a 4 KiB insertion");
    }

    #[test]
    fn parameters_are_checked() {
        assert!(DEFAULT.check().is_ok());
        assert!(Chunking { min: 1, avg: 64 << 10, max: 256 << 10 }.check().is_err());
        assert!(Chunking { min: 64 << 10, avg: 16 << 10, max: 256 << 10 }.check().is_err());
        assert!(Chunking { min: 16 << 10, avg: 64 << 10, max: 64 << 20 }.check().is_err());
    }
}
