//! The index's compact tables of names: a string arena (display texts and
//! entry ids, 4 bytes per string beside the text), the token ranges of the
//! indexed names (1 byte per name), and which indexed names are further
//! readings of one listed name.

/// Strings in one buffer. String `i` ends at `ends[i]`, the low 32 bits of
/// its end offset; the high bits, which change only past every 4 GiB of
/// text, are kept in `highs` as `(first string, high bits)` steps, so that
/// an end costs 4 bytes, not 8.
#[derive(Default, Debug, Clone)]
pub(super) struct Arena {
    data: String,
    ends: Vec<u32>,
    highs: Vec<(u32, u32)>,
}

impl Arena {
    pub(super) fn push(&mut self, s: &str) -> u32 {
        self.data.push_str(s);
        let end = self.data.len() as u64;
        let i = self.ends.len() as u32;
        let high = (end >> 32) as u32;
        if high != self.highs.last().map_or(0, |h| h.1) {
            self.highs.push((i, high));
        }
        self.ends.push(end as u32);
        i
    }

    fn end(&self, i: usize) -> usize {
        let low = u64::from(self.ends[i]);
        if self.highs.is_empty() {
            return low as usize;
        }
        let k = self.highs.partition_point(|h| h.0 as usize <= i);
        let high = if k == 0 {
            0
        } else {
            u64::from(self.highs[k - 1].1)
        };
        ((high << 32) | low) as usize
    }

    #[inline]
    pub(super) fn get(&self, i: u32) -> &str {
        let i = i as usize;
        if self.highs.is_empty() {
            let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
            return &self.data[start..self.ends[i] as usize];
        }
        let start = if i == 0 { 0 } else { self.end(i - 1) };
        &self.data[start..self.end(i)]
    }

    pub(super) fn len(&self) -> usize {
        self.ends.len()
    }

    pub(super) fn heap(&self) -> usize {
        self.data.capacity() + self.ends.capacity() * 4 + self.highs.capacity() * 8
    }

    pub(super) fn shrink(&mut self) {
        self.data.shrink_to_fit();
        self.ends.shrink_to_fit();
        self.highs.shrink_to_fit();
    }
}

/// Names per block of [`NameTable`] and [`Readings`].
const BLOCK: usize = 64;

/// Token ranges of the indexed names in 1 byte per name: each name's token
/// count, and where every block of [`BLOCK`] names starts in `toks`.
#[derive(Default, Debug)]
pub(super) struct NameTable {
    pub(super) toks: Vec<u32>,
    pub(super) len: Vec<u8>,
    block_start: Vec<u32>,
}

impl NameTable {
    pub(super) fn push(&mut self, toks: impl IntoIterator<Item = u32>) {
        if self.len.len().is_multiple_of(BLOCK) {
            self.block_start.push(self.toks.len() as u32);
        }
        let before = self.toks.len();
        self.toks.extend(toks);
        self.len.push((self.toks.len() - before) as u8);
    }

    pub(super) fn count(&self) -> usize {
        self.len.len()
    }

    fn start(&self, n: usize) -> usize {
        let b = n / BLOCK;
        self.block_start[b] as usize
            + self.len[b * BLOCK..n]
                .iter()
                .map(|&l| usize::from(l))
                .sum::<usize>()
    }

    pub(super) fn get(&self, n: usize) -> &[u32] {
        let s = self.start(n);
        &self.toks[s..s + usize::from(self.len[n])]
    }

    pub(super) fn heap(&self) -> usize {
        self.toks.capacity() * 4 + self.len.capacity() + self.block_start.capacity() * 4
    }

    pub(super) fn shrink(&mut self) {
        self.toks.shrink_to_fit();
        self.len.shrink_to_fit();
        self.block_start.shrink_to_fit();
    }
}

/// Which indexed names are a further reading of the listed name before
/// them: per block of 64 indexed names, the count of further readings
/// before the block and one bit per name (side by side, one cache line), so
/// that the listed name of an indexed name is found in constant time.
#[derive(Default, Debug)]
pub(super) struct Readings {
    blocks: Vec<(u32, u64)>,
    len: usize,
    any: bool,
}

impl Readings {
    pub(super) fn push(&mut self, extra: bool) {
        let i = self.len;
        if i.is_multiple_of(BLOCK) {
            let before = self.blocks.last().map_or(0, |&(b, w)| b + w.count_ones());
            self.blocks.push((before, 0));
        }
        if extra {
            self.blocks[i / BLOCK].1 |= 1 << (i % BLOCK);
            self.any = true;
        }
        self.len += 1;
    }

    /// The listed name of indexed name `i`: `i` less the further readings
    /// up to and including it.
    pub(super) fn listed(&self, i: usize) -> usize {
        if !self.any {
            return i;
        }
        let (before, bits) = self.blocks[i / BLOCK];
        let k = i % BLOCK;
        let mask = if k == BLOCK - 1 {
            u64::MAX
        } else {
            (1u64 << (k + 1)) - 1
        };
        i - before as usize - (bits & mask).count_ones() as usize
    }

    pub(super) fn heap(&self) -> usize {
        self.blocks.capacity() * 16
    }

    pub(super) fn shrink(&mut self) {
        self.blocks.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_table_and_readings_across_blocks() {
        let mut t = NameTable::default();
        let mut r = Readings::default();
        let mut want_toks = Vec::new();
        let mut want_listed = Vec::new();
        let mut listed = 0usize;
        for i in 0..300u32 {
            let toks: Vec<u32> = (0..i % 5).map(|k| i * 10 + k).collect();
            t.push(toks.iter().copied());
            want_toks.push(toks);
            // Every third indexed name is a further reading.
            let extra = i % 3 == 2;
            if i > 0 && !extra {
                listed += 1;
            }
            r.push(extra);
            want_listed.push(listed);
        }
        assert_eq!(t.count(), 300);
        for i in 0..300 {
            assert_eq!(t.get(i), want_toks[i].as_slice(), "{i}");
            assert_eq!(r.listed(i), want_listed[i], "{i}");
        }
    }

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn arena_ends_past_4_gib() {
        let mut a = Arena::default();
        assert_eq!((a.push("ab"), a.push(""), a.push("cde")), (0, 1, 2));
        assert_eq!((a.get(0), a.get(1), a.get(2)), ("ab", "", "cde"));
        // Ends are 32-bit; a step in `highs` carries the bits above.
        let b = Arena {
            data: String::new(),
            ends: vec![10, u32::MAX, 5, 7],
            highs: vec![(2, 1)],
        };
        assert_eq!(b.end(1), u32::MAX as usize);
        assert_eq!(b.end(2), (1usize << 32) + 5);
        assert_eq!(b.end(3), (1usize << 32) + 7);
    }
}
