//! The snapshot file's fixed header and payload checksum.
//!
//! A snapshot answers queries for whatever vectors it was built from, so a
//! file from another catalogue, another format version or a damaged disk must
//! be refused before it is used. The header (80 bytes, little-endian) says
//! what the file claims to be; a streaming checksum over the bincode payload
//! says whether the bytes are intact.

use std::io::{Read, Write};

use super::hnsw::HnswParams;
use super::store::Precision;

const MAGIC: &[u8; 8] = b"WHALEIDX";
const VERSION: u32 = 1;
pub(crate) const HEADER_LEN: usize = 80;

pub(crate) struct Header {
    pub(crate) precision: Precision,
    pub(crate) dim: u64,
    pub(crate) count: u64,
    pub(crate) ids_checksum: u64,
    pub(crate) params: HnswParams,
    pub(crate) payload_len: u64,
    pub(crate) payload_checksum: u64,
}

impl Header {
    pub(crate) fn encode(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[..8].copy_from_slice(MAGIC);
        b[8..12].copy_from_slice(&VERSION.to_le_bytes());
        b[12] = match self.precision {
            Precision::F32 => 0,
            Precision::F16 => 1,
        };
        let words = [
            self.dim,
            self.count,
            self.ids_checksum,
            self.params.ef_construction as u64,
            self.params.ef_search as u64,
            self.params.seed,
            self.payload_len,
            self.payload_checksum,
        ];
        for (i, w) in words.iter().enumerate() {
            b[16 + 8 * i..24 + 8 * i].copy_from_slice(&w.to_le_bytes());
        }
        b
    }

    pub(crate) fn decode(b: &[u8; HEADER_LEN]) -> Result<Self, String> {
        if &b[..8] != MAGIC {
            return Err("not a WhaleID vector index (wrong magic bytes)".into());
        }
        let version = u32::from_le_bytes(b[8..12].try_into().expect("4 bytes"));
        if version != VERSION {
            return Err(format!(
                "index format version {version}, this build reads version {VERSION}"
            ));
        }
        let precision = match b[12] {
            0 => Precision::F32,
            1 => Precision::F16,
            p => return Err(format!("unknown precision code {p}")),
        };
        let w =
            |i: usize| u64::from_le_bytes(b[16 + 8 * i..24 + 8 * i].try_into().expect("8 bytes"));
        Ok(Self {
            precision,
            dim: w(0),
            count: w(1),
            ids_checksum: w(2),
            params: HnswParams {
                ef_construction: w(3) as usize,
                ef_search: w(4) as usize,
                seed: w(5),
            },
            payload_len: w(6),
            payload_checksum: w(7),
        })
    }
}

/// A 64-bit streaming checksum over 8-byte words: catches damaged files at
/// memory speed (not a defence against deliberate tampering).
pub(crate) struct Hash {
    state: u64,
    pending: [u8; 8],
    npending: usize,
}

impl Hash {
    fn new() -> Self {
        Self {
            state: 0x243f_6a88_85a3_08d3,
            pending: [0; 8],
            npending: 0,
        }
    }

    fn word(&mut self, w: u64) {
        self.state = (self.state ^ w).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.state ^= self.state >> 29;
    }

    fn update(&mut self, mut bytes: &[u8]) {
        if self.npending > 0 {
            let take = (8 - self.npending).min(bytes.len());
            self.pending[self.npending..self.npending + take].copy_from_slice(&bytes[..take]);
            self.npending += take;
            bytes = &bytes[take..];
            if self.npending < 8 {
                return;
            }
            self.word(u64::from_le_bytes(self.pending));
            self.npending = 0;
        }
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            self.word(u64::from_le_bytes(w.try_into().expect("8 bytes")));
        }
        let rest = words.remainder();
        self.pending[..rest.len()].copy_from_slice(rest);
        self.npending = rest.len();
    }

    pub(crate) fn finish(&self) -> u64 {
        let mut h = Hash { ..*self };
        let mut last = [0u8; 8];
        last[..self.npending].copy_from_slice(&self.pending[..self.npending]);
        h.word(u64::from_le_bytes(last));
        h.word(self.npending as u64);
        mix(h.state)
    }
}

/// Passes bytes through while hashing and counting them.
pub(crate) struct Hashing<T> {
    inner: T,
    pub(crate) hash: Hash,
    pub(crate) len: u64,
}

impl<T> Hashing<T> {
    pub(crate) fn new(inner: T) -> Self {
        Self {
            inner,
            hash: Hash::new(),
            len: 0,
        }
    }
}

impl<T: Write> Write for Hashing<T> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl<T: Read> Read for Hashing<T> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
}

pub(crate) fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_independent_of_chunking() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut one = Hash::new();
        one.update(&data);
        let mut many = Hash::new();
        for chunk in data.chunks(3) {
            many.update(chunk);
        }
        assert_eq!(one.finish(), many.finish());
        let mut other = Hash::new();
        other.update(&data[..999]);
        assert_ne!(one.finish(), other.finish());
    }
}
