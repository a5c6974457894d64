//! String distances on short tokens.

/// Optimal-string-alignment (restricted Damerau–Levenshtein) distance on
/// bytes: insertions, deletions, substitutions and adjacent transpositions
/// cost 1. Allocation-free when the shorter input has at most 64 bytes.
#[must_use]
pub fn osa_distance(a: &[u8], b: &[u8]) -> usize {
    if a == b {
        return 0;
    }
    // Strip common prefix and suffix (cheap, and common for typos).
    let pre = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (a, b) = (&a[pre..], &b[pre..]);
    let suf = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (a, b) = (&a[..a.len() - suf], &b[..b.len() - suf]);
    if a.is_empty() {
        return b.len();
    }
    if b.is_empty() {
        return a.len();
    }
    // Bit-parallel over the shorter string when it fits in a word.
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if short.len() <= 64 {
        return osa_bit_parallel(short, long);
    }
    osa_dp(a, b)
}

/// Hyyrö's bit-vector algorithm for the OSA distance (Levenshtein with
/// adjacent transpositions), pattern `a` of at most 64 bytes. The match
/// vector of each text byte is built by scanning the (short) pattern, which
/// is cheaper than filling a 256-entry table for name tokens.
fn osa_bit_parallel(a: &[u8], b: &[u8]) -> usize {
    let m = a.len();
    debug_assert!((1..=64).contains(&m));
    let last = 1u64 << (m - 1);
    let mut vp: u64 = if m == 64 { !0 } else { (1u64 << m) - 1 };
    let mut vn: u64 = 0;
    let mut d0: u64 = 0;
    let mut pm_prev: u64 = 0;
    let mut dist = m;
    for &c in b {
        let mut pm = 0u64;
        for (i, &x) in a.iter().enumerate() {
            pm |= u64::from(x == c) << i;
        }
        let tr = ((!d0 & pm) << 1) & pm_prev;
        d0 = (((pm & vp).wrapping_add(vp)) ^ vp) | pm | vn | tr;
        let hp = vn | !(d0 | vp);
        let hn = d0 & vp;
        if hp & last != 0 {
            dist += 1;
        } else if hn & last != 0 {
            dist -= 1;
        }
        let hp = (hp << 1) | 1;
        let hn = hn << 1;
        vp = hn | !(d0 | hp);
        vn = d0 & hp;
        pm_prev = pm;
    }
    dist
}

/// Plain dynamic programme (reference and fallback for long inputs).
fn osa_dp(a: &[u8], b: &[u8]) -> usize {
    let m = b.len();
    let mut prev2 = vec![0usize; m + 1];
    let mut prev: Vec<usize> = (0..=m).collect();
    let mut cur = vec![0usize; m + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(prev2[j - 2] + 1);
            }
            cur[j] = v;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[m]
}

/// Normalised similarity `1 - d / max_len` in `[0, 1]`.
#[must_use]
pub fn osa_similarity(a: &str, b: &str) -> f32 {
    let l = a.len().max(b.len());
    if l == 0 {
        return 1.0;
    }
    let d = osa_distance(a.as_bytes(), b.as_bytes());
    1.0 - d as f32 / l as f32
}

/// Levenshtein similarity over characters (for syllabic scripts, where one
/// character is a syllable).
#[must_use]
pub fn char_similarity(a: &str, b: &str) -> f32 {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let l = a.len().max(b.len());
    if l == 0 {
        return 1.0;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    1.0 - prev[b.len()] as f32 / l as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn osa_basics() {
        assert_eq!(osa_distance(b"", b""), 0);
        assert_eq!(osa_distance(b"abc", b""), 3);
        assert_eq!(osa_distance(b"kitten", b"sitting"), 3);
        assert_eq!(osa_distance(b"donlad", b"donald"), 1);
        assert_eq!(osa_distance(b"ca", b"abc"), 3);
        let long_a = "a".repeat(80);
        let long_b = format!("{}b", "a".repeat(79));
        assert_eq!(osa_distance(long_a.as_bytes(), long_b.as_bytes()), 1);
        assert_eq!(
            osa_distance(
                b"xabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
                b"yabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxz"
            ),
            2
        );
    }

    #[test]
    fn bit_parallel_agrees_with_dp() {
        // Deterministic pseudo-random strings over a small alphabet.
        let mut x: u64 = 1;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..20_000 {
            let la = (next() % 12) as usize;
            let lb = (next() % 12) as usize;
            let a: Vec<u8> = (0..la).map(|_| b"abcd"[(next() % 4) as usize]).collect();
            let b: Vec<u8> = (0..lb).map(|_| b"abcd"[(next() % 4) as usize]).collect();
            let dp = if a.is_empty() || b.is_empty() {
                a.len().max(b.len())
            } else {
                osa_dp(&a, &b)
            };
            assert_eq!(
                osa_distance(&a, &b),
                dp,
                "{:?} {:?}",
                String::from_utf8_lossy(&a),
                String::from_utf8_lossy(&b)
            );
        }
    }

    #[test]
    fn similarities() {
        assert!((osa_similarity("putin", "pudin") - 0.8).abs() < 1e-6);
        assert!((char_similarity("近平", "近朋") - 0.5).abs() < 1e-6);
    }
}
