//! Posting lists: for every vocabulary token, the sorted list of the
//! indexed names that contain it, delta + LEB128 varint encoded in one byte
//! buffer.

/// Delta + LEB128 varint encoded sorted `u32` lists.
#[derive(Default, Debug)]
pub(super) struct Postings {
    pub(super) bytes: Vec<u8>,
    /// Start offset per list (len = lists + 1).
    pub(super) starts: Vec<u64>,
    /// Length of each list (its token's document frequency).
    pub(super) df: Vec<u32>,
}

impl Postings {
    pub(super) fn iter(&self, list: u32) -> PostingIter<'_> {
        let l = list as usize;
        PostingIter {
            bytes: &self.bytes[self.starts[l] as usize..self.starts[l + 1] as usize],
            pos: 0,
            prev: 0,
        }
    }
}

pub(super) struct PostingIter<'a> {
    bytes: &'a [u8],
    pos: usize,
    prev: u32,
}

impl Iterator for PostingIter<'_> {
    type Item = u32;

    #[inline]
    fn next(&mut self) -> Option<u32> {
        let &b = self.bytes.get(self.pos)?;
        self.pos += 1;
        // Most deltas fit one byte.
        let mut v = u32::from(b);
        if b & 0x80 != 0 {
            v &= 0x7f;
            let mut shift = 7;
            while let Some(&b) = self.bytes.get(self.pos) {
                self.pos += 1;
                v |= u32::from(b & 0x7f).wrapping_shl(shift);
                if b & 0x80 == 0 {
                    break;
                }
                shift += 7;
            }
        }
        // The first value is stored as is: a delta from 0.
        self.prev = self.prev.wrapping_add(v);
        Some(self.prev)
    }
}

pub(super) fn push_varint(out: &mut Vec<u8>, mut v: u32) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postings_roundtrip() {
        let mut p = Postings::default();
        p.starts.push(0);
        let list = [0u32, 1, 127, 128, 300, 70_000, 4_000_000_000];
        let mut prev = 0;
        for (i, &n) in list.iter().enumerate() {
            push_varint(&mut p.bytes, if i == 0 { n } else { n - prev });
            prev = n;
        }
        p.starts.push(p.bytes.len() as u64);
        p.df.push(list.len() as u32);
        assert_eq!(p.iter(0).collect::<Vec<_>>(), list);
    }
}
