//! Recipes (DESIGN §7, docs/formats.md): `recipes/<oid>` on a chunked remote says how to
//! rebuild an object from pack byte ranges. A directory's recipe covers its manifest (first)
//! and every file it lists, so a partial pull reads only the terms of the files it wants.
//! Parsing treats the bytes as untrusted: counts and sizes bounded, nothing pre-allocated.

use crate::hash::Oid;
use crate::remote::chunk::MAX_CHUNK;
use crate::remote::pack::{Entry, HEADER_LEN, RECORD_HEADER};

/// A recipe starts with these 8 bytes.
pub const MAGIC: &[u8; 8] = b"MVCRCP1\n";
/// The largest recipe mvc reads (a 1 TB object in 64 KiB chunks needs ~650 MB; a few GB of
/// 4 KiB files much less).
pub const MAX_BYTES: u64 = 1 << 30;
const MAX_STORED: u32 = MAX_CHUNK + (64 << 10);

/// One chunk a term lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkRef {
    /// Its id.
    pub id: Oid,
    /// Its raw length.
    pub raw_len: u32,
    /// Its stored length (its record is [`RECORD_HEADER`] bytes longer).
    pub stored_len: u32,
}

/// Consecutive records of one pack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    /// The pack.
    pub pack: Oid,
    /// Where the first record starts.
    pub offset: u64,
    /// The chunks, in order.
    pub chunks: Vec<ChunkRef>,
}

impl Term {
    /// Bytes of the pack this term covers.
    pub fn len(&self) -> u64 {
        self.chunks.iter().map(|c| RECORD_HEADER + c.stored_len as u64).sum()
    }

    /// Whether it covers nothing (never true of a parsed term).
    pub fn is_empty(&self) -> bool {
        self.chunks.is_empty()
    }

    /// Raw bytes the term rebuilds.
    pub fn raw_len(&self) -> u64 {
        self.chunks.iter().map(|c| c.raw_len as u64).sum()
    }
}

/// How to rebuild one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRecipe {
    /// The object.
    pub oid: Oid,
    /// Its size (the sum of its chunks' raw lengths).
    pub size: u64,
    /// Its terms, in order.
    pub terms: Vec<Term>,
}

impl ObjectRecipe {
    /// Starts a recipe for `oid`.
    pub fn new(oid: Oid) -> ObjectRecipe {
        ObjectRecipe { oid, size: 0, terms: Vec::new() }
    }

    /// Appends the chunk at `e` in `pack`, extending the last term when it is the next record
    /// of the same pack.
    pub fn push(&mut self, pack: Oid, e: &Entry) {
        let c = ChunkRef { id: e.id, raw_len: e.raw_len, stored_len: e.stored_len };
        self.size += e.raw_len as u64;
        if let Some(last) = self.terms.last_mut()
            && last.pack == pack
            && last.offset + last.len() == e.offset
        {
            last.chunks.push(c);
            return;
        }
        self.terms.push(Term { pack, offset: e.offset, chunks: vec![c] });
    }

    /// Every chunk with its pack entry, in order.
    pub fn entries(&self) -> impl Iterator<Item = (Oid, Entry)> + '_ {
        self.terms.iter().flat_map(|t| {
            let mut at = t.offset;
            t.chunks.iter().map(move |c| {
                let e = Entry {
                    id: c.id,
                    offset: at,
                    codec: crate::remote::pack::Codec::Raw,
                    raw_len: c.raw_len,
                    stored_len: c.stored_len,
                };
                at += RECORD_HEADER + c.stored_len as u64;
                (t.pack, e)
            })
        })
    }
}

/// A recipe: the object it is named after first, then (for a directory) its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipe {
    /// The objects.
    pub objects: Vec<ObjectRecipe>,
}

/// What is wrong with a recipe's bytes.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RecipeError {
    /// Not a recipe, or one from a newer mvc.
    #[error("not an mvc recipe (bad magic)")]
    BadMagic,
    /// Too long, or it ends early.
    #[error("truncated or oversized")]
    Truncated,
    /// The checksum does not match.
    #[error("checksum mismatch")]
    Checksum,
    /// Its first object is not the one it is named after.
    #[error("it describes {0}, not the object it is named after")]
    WrongObject(Oid),
    /// A value is out of range.
    #[error("{0}")]
    Invalid(&'static str),
}

impl Recipe {
    /// The exact bytes: magic, objects, then BLAKE3 of everything before it.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(self.objects.len() as u32).to_le_bytes());
        for o in &self.objects {
            out.extend_from_slice(o.oid.as_bytes());
            out.extend_from_slice(&o.size.to_le_bytes());
            out.extend_from_slice(&(o.terms.len() as u32).to_le_bytes());
            for t in &o.terms {
                out.extend_from_slice(t.pack.as_bytes());
                out.extend_from_slice(&t.offset.to_le_bytes());
                out.extend_from_slice(&(t.chunks.len() as u32).to_le_bytes());
                for c in &t.chunks {
                    out.extend_from_slice(c.id.as_bytes());
                    out.extend_from_slice(&c.raw_len.to_le_bytes());
                    out.extend_from_slice(&c.stored_len.to_le_bytes());
                }
            }
        }
        let sum = blake3::hash(&out);
        out.extend_from_slice(sum.as_bytes());
        out
    }

    /// Parses and validates a recipe that should describe `expect` first.
    pub fn parse(bytes: &[u8], expect: &Oid) -> Result<Recipe, RecipeError> {
        if bytes.len() as u64 > MAX_BYTES || bytes.len() < MAGIC.len() + 4 + 32 {
            return Err(RecipeError::Truncated);
        }
        if &bytes[..8] != MAGIC {
            return Err(RecipeError::BadMagic);
        }
        let (body, sum) = bytes.split_at(bytes.len() - 32);
        if blake3::hash(body).as_bytes() != sum {
            return Err(RecipeError::Checksum);
        }
        let mut r = Reader { b: body, at: 8 };
        let count = r.u32()?;
        let mut objects = Vec::new();
        for _ in 0..count {
            let oid = r.oid()?;
            let size = r.u64()?;
            let nterms = r.u32()?;
            let mut terms = Vec::new();
            let mut total = 0u64;
            for _ in 0..nterms {
                let pack = r.oid()?;
                let offset = r.u64()?;
                if !(HEADER_LEN..=1 << 48).contains(&offset) {
                    return Err(RecipeError::Invalid("term offset out of range"));
                }
                let nchunks = r.u32()?;
                if nchunks == 0 {
                    return Err(RecipeError::Invalid("empty term"));
                }
                let mut chunks = Vec::new();
                for _ in 0..nchunks {
                    let id = r.oid()?;
                    let raw_len = r.u32()?;
                    let stored_len = r.u32()?;
                    if raw_len == 0 || raw_len > MAX_CHUNK || stored_len > MAX_STORED {
                        return Err(RecipeError::Invalid("chunk length out of range"));
                    }
                    total += raw_len as u64;
                    chunks.push(ChunkRef { id, raw_len, stored_len });
                }
                terms.push(Term { pack, offset, chunks });
            }
            if total != size {
                return Err(RecipeError::Invalid("object size differs from its chunks' total"));
            }
            objects.push(ObjectRecipe { oid, size, terms });
        }
        if r.at != body.len() {
            return Err(RecipeError::Invalid("trailing bytes"));
        }
        match objects.first() {
            Some(first) if first.oid == *expect => Ok(Recipe { objects }),
            Some(first) => Err(RecipeError::WrongObject(first.oid)),
            None => Err(RecipeError::Invalid("no objects")),
        }
    }

    /// Every pack the recipe cites.
    pub fn packs(&self) -> impl Iterator<Item = Oid> + '_ {
        self.objects.iter().flat_map(|o| o.terms.iter().map(|t| t.pack))
    }
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], RecipeError> {
        if self.b.len() - self.at < n {
            return Err(RecipeError::Truncated);
        }
        self.at += n;
        Ok(&self.b[self.at - n..self.at])
    }
    fn u32(&mut self) -> Result<u32, RecipeError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
    fn u64(&mut self) -> Result<u64, RecipeError> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
    fn oid(&mut self) -> Result<Oid, RecipeError> {
        Ok(Oid::from_bytes(self.take(32)?.try_into().expect("32 bytes")))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::remote::pack::{Codec, PackWriter};

    /// The golden pack and recipe of docs/formats.md: one object of two chunks in one pack.
    pub(super) fn golden() -> (Vec<u8>, Vec<u8>) {
        let parts: [&[u8]; 2] = [b"hello, chunked remote\n", b"second chunk\n"];
        let mut w = PackWriter::default();
        let entries: Vec<Entry> = parts.iter().map(|p| w.add(Oid::of_bytes(p), p)).collect();
        let (pack, bytes, _) = w.finish();
        let object = Oid::of_bytes(&parts.concat());
        let mut o = ObjectRecipe::new(object);
        for e in &entries {
            o.push(pack, e);
        }
        (bytes, Recipe { objects: vec![o] }.to_bytes())
    }

    fn hex_block(doc: &str, name: &str) -> Vec<u8> {
        let start = doc.find(&format!("<!-- golden {name} -->")).expect("golden block in docs/formats.md");
        let block = &doc[start..];
        let open = block.find("```").expect("fence") + 3;
        let body = &block[open..];
        let body = &body[body.find('\n').expect("newline") + 1..];
        let close = body.find("```").expect("closing fence");
        let hex: String = body[..close].chars().filter(|c| c.is_ascii_hexdigit()).collect();
        (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex")).collect()
    }

    #[test]
    fn golden_pack_and_recipe_in_docs_match() {
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/formats.md")).unwrap();
        let (pack, recipe) = golden();
        assert_eq!(hex_block(&doc, "pack"), pack, "docs/formats.md golden pack");
        assert_eq!(hex_block(&doc, "recipe"), recipe, "docs/formats.md golden recipe");
        let pack_oid = Oid::of_bytes(&pack);
        assert!(doc.contains(&pack_oid.to_hex()), "docs name the golden pack's oid {pack_oid}");
        let entries = crate::remote::pack::verify(&pack).unwrap();
        assert_eq!(entries.len(), 2);
        let object = Oid::of_bytes(b"hello, chunked remote\nsecond chunk\n");
        let parsed = Recipe::parse(&recipe, &object).unwrap();
        assert_eq!(parsed.objects[0].terms.len(), 1, "consecutive chunks of one pack collapse");
        assert_eq!(parsed.objects[0].size, 35);
    }

    #[test]
    fn round_trip_and_term_collapse() {
        let p1 = Oid::of_bytes(b"p1");
        let p2 = Oid::of_bytes(b"p2");
        let e = |offset, stored| Entry {
            id: Oid::of_bytes(&[offset as u8]),
            offset,
            codec: Codec::Raw,
            raw_len: stored,
            stored_len: stored,
        };
        let mut o = ObjectRecipe::new(Oid::of_bytes(b"obj"));
        o.push(p1, &e(16, 10));
        o.push(p1, &e(67, 5)); // 16 + 41 + 10: the next record
        o.push(p1, &e(200, 5)); // a gap: a new term
        o.push(p2, &e(16, 5));
        assert_eq!(o.terms.len(), 3);
        assert_eq!(o.size, 25);
        let entries: Vec<u64> = o.entries().map(|(_, e)| e.offset).collect();
        assert_eq!(entries, [16, 67, 200, 16]);
        let r = Recipe { objects: vec![o.clone(), ObjectRecipe::new(Oid::of_bytes(b"empty"))] };
        assert_eq!(Recipe::parse(&r.to_bytes(), &o.oid).unwrap(), r);
        assert_eq!(Recipe::parse(&r.to_bytes(), &Oid::of_bytes(b"x")), Err(RecipeError::WrongObject(o.oid)));
    }

    #[test]
    fn damaged_or_hostile_recipes_are_refused() {
        let (_, recipe) = golden();
        let object = Oid::of_bytes(b"hello, chunked remote\nsecond chunk\n");
        for i in 0..recipe.len() {
            let mut bad = recipe.clone();
            bad[i] ^= 1;
            assert!(Recipe::parse(&bad, &object).is_err(), "byte {i}");
        }
        for cut in 0..recipe.len() {
            assert!(Recipe::parse(&recipe[..cut], &object).is_err(), "cut {cut}");
        }
        // A huge count with a valid checksum allocates nothing and fails cleanly.
        let mut body = MAGIC.to_vec();
        body.extend_from_slice(&u32::MAX.to_le_bytes());
        let sum = blake3::hash(&body);
        body.extend_from_slice(sum.as_bytes());
        assert_eq!(Recipe::parse(&body, &object), Err(RecipeError::Truncated));
    }
}
