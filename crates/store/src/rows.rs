//! Ledger rows as a backend reads them: a [`LeafPage`] packs a page of
//! rows (position, stream, seq, leaf, stored leaf hash, and the content
//! kept beside a version-2 leaf) into one buffer, because reading a
//! million leaves must not mean three million allocations.

/// A page of ledger rows as stored, packed into one buffer (reading a
/// million leaves must not mean three million allocations).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeafPage {
    buf: Vec<u8>,
    rows: Vec<PackedRow>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct PackedRow {
    position: u64,
    seq: u64,
    stream: std::ops::Range<usize>,
    leaf: std::ops::Range<usize>,
    leaf_hash: std::ops::Range<usize>,
    /// The salt and body kept beside a version-2 leaf.
    content: Option<(std::ops::Range<usize>, std::ops::Range<usize>)>,
}

/// One ledger row: position, the stream and seq index columns, the leaf and
/// its stored hash (exactly as stored, whatever their length), and what is
/// kept beside it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeafRow<'a> {
    pub position: u64,
    pub stream: &'a str,
    pub seq: u64,
    pub leaf: &'a [u8],
    pub leaf_hash: &'a [u8],
    /// The salt and body of a version-2 leaf, while they are kept. `None`
    /// for a version-1 leaf (it holds its body) and for a disposed
    /// version-2 leaf (its content was destroyed).
    pub content: Option<LeafContent<'a>>,
}

/// The content kept beside a version-2 leaf: what its commitment commits to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeafContent<'a> {
    pub salt: &'a [u8],
    /// The event envelope's JSON, as a version-1 leaf would hold it.
    pub body: &'a [u8],
}

impl LeafPage {
    pub fn with_capacity(rows: usize, bytes: usize) -> Self {
        Self {
            buf: Vec::with_capacity(bytes),
            rows: Vec::with_capacity(rows),
        }
    }

    /// A row with nothing kept beside its leaf: a version-1 leaf, or a
    /// disposed version-2 leaf.
    pub fn push(&mut self, position: u64, stream: &str, seq: u64, leaf: &[u8], leaf_hash: &[u8]) {
        self.push_row(position, stream, seq, leaf, leaf_hash, None);
    }

    /// A row of a version-2 leaf whose salt and body are kept beside it.
    pub fn push_with_content(
        &mut self,
        position: u64,
        stream: &str,
        seq: u64,
        leaf: &[u8],
        leaf_hash: &[u8],
        content: LeafContent<'_>,
    ) {
        self.push_row(position, stream, seq, leaf, leaf_hash, Some(content));
    }

    fn push_row(
        &mut self,
        position: u64,
        stream: &str,
        seq: u64,
        leaf: &[u8],
        leaf_hash: &[u8],
        content: Option<LeafContent<'_>>,
    ) {
        let mut take = |b: &[u8]| {
            let start = self.buf.len();
            self.buf.extend_from_slice(b);
            start..self.buf.len()
        };
        let stream = take(stream.as_bytes());
        let leaf = take(leaf);
        let leaf_hash = take(leaf_hash);
        let content = content.map(|c| (take(c.salt), take(c.body)));
        self.rows.push(PackedRow {
            position,
            seq,
            stream,
            leaf,
            leaf_hash,
            content,
        });
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn get(&self, i: usize) -> Option<LeafRow<'_>> {
        let r = self.rows.get(i)?;
        Some(LeafRow {
            position: r.position,
            // Only pushed from &str.
            stream: std::str::from_utf8(&self.buf[r.stream.clone()]).unwrap_or(""),
            seq: r.seq,
            leaf: &self.buf[r.leaf.clone()],
            leaf_hash: &self.buf[r.leaf_hash.clone()],
            content: r.content.as_ref().map(|(salt, body)| LeafContent {
                salt: &self.buf[salt.clone()],
                body: &self.buf[body.clone()],
            }),
        })
    }

    pub fn iter(&self) -> impl Iterator<Item = LeafRow<'_>> {
        (0..self.rows.len()).filter_map(|i| self.get(i))
    }

    pub fn last_position(&self) -> Option<u64> {
        self.rows.last().map(|r| r.position)
    }
}
