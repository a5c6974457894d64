//! Checkpoints (c2sp.org/tlog-checkpoint) in Ed25519 signed notes
//! (c2sp.org/signed-note).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::error::NoteError;
use crate::hash::Hash;

/// Largest signed note [`open_checkpoint`] accepts, in bytes. A checkpoint with
/// sixteen large post-quantum cosignatures stays well below this.
pub const MAX_NOTE_BYTES: usize = 1 << 20;

/// Most signature lines [`open_checkpoint`] accepts in one note (the spec asks
/// verifiers to accept at least 16).
pub const MAX_SIGNATURES: usize = 100;

/// Signature type byte of Ed25519 in signed notes.
const ALG_ED25519: u8 = 0x01;

/// The prefix of every signature line: em dash (U+2014) and a space.
const SIG_PREFIX: &str = "\u{2014} ";

const SECRET_PREFIX: &str = "PRIVATE+KEY+";

/// A transparency log checkpoint: the log's origin and its tree head.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Checkpoint {
    /// Unique identifier of the log (first line of the note text).
    pub origin: String,
    /// Number of leaves.
    pub size: u64,
    /// RFC 6962 Merkle tree hash at `size`.
    pub root: Hash,
}

impl Checkpoint {
    /// The note text: `"<origin>\n<size>\n<base64 root>\n"`.
    ///
    /// Only meaningful for a checkpoint that passes [`Checkpoint::validate`].
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            self.root.to_base64()
        )
    }

    /// Check that the origin is non-empty and free of newlines and other control
    /// characters, so that [`Checkpoint::body`] parses back to this checkpoint.
    pub fn validate(&self) -> Result<(), NoteError> {
        if self.origin.is_empty() {
            return Err(malformed_checkpoint("the origin is empty"));
        }
        if self.origin.chars().any(is_ascii_control) {
            return Err(malformed_checkpoint(
                "the origin contains a newline or another control character",
            ));
        }
        Ok(())
    }

    /// Parse a checkpoint note text (the body of a signed note, ending in a
    /// newline). Extension lines after the root are allowed if non-empty, and
    /// ignored.
    ///
    /// This does not check any signature: use [`open_checkpoint`] on untrusted input.
    pub fn parse_body(s: &str) -> Result<Self, NoteError> {
        let Some(text) = s.strip_suffix('\n') else {
            return Err(malformed_checkpoint("the text does not end with a newline"));
        };
        if let Some(c) = text.chars().find(|c| is_ascii_control(*c) && *c != '\n') {
            return Err(malformed_checkpoint(&format!(
                "the text contains control character U+{:04X}",
                u32::from(c)
            )));
        }
        let mut lines = text.split('\n');
        let origin = lines.next().unwrap_or_default();
        let (Some(size), Some(root)) = (lines.next(), lines.next()) else {
            return Err(malformed_checkpoint(
                "expected at least three lines: origin, tree size, root hash",
            ));
        };
        if origin.is_empty() {
            return Err(malformed_checkpoint("the origin line is empty"));
        }
        let size = parse_size(size)?;
        let root = Hash::from_base64(root).map_err(|e| {
            malformed_checkpoint(&format!("the third line is not a root hash: {e}"))
        })?;
        if lines.any(str::is_empty) {
            return Err(malformed_checkpoint("an extension line is empty"));
        }
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
        })
    }
}

fn parse_size(s: &str) -> Result<u64, NoteError> {
    let err = |why: &str| malformed_checkpoint(&format!("tree size {s:?} {why}"));
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err("is not a decimal number"));
    }
    if s.len() > 1 && s.starts_with('0') {
        return Err(err("has a leading zero"));
    }
    s.parse().map_err(|_| err("does not fit in 64 bits"))
}

/// The characters the signed-note spec forbids (apart from newline): ASCII
/// controls below U+0020.
fn is_ascii_control(c: char) -> bool {
    c < ' '
}

fn malformed_checkpoint(reason: &str) -> NoteError {
    NoteError::MalformedCheckpoint {
        reason: reason.to_owned(),
    }
}

fn malformed_note(reason: &str) -> NoteError {
    NoteError::MalformedNote {
        reason: reason.to_owned(),
    }
}

/// Whether `name` is a valid signed-note key name: non-empty, no Unicode
/// whitespace, no `+`, no control characters.
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || is_ascii_control(c))
}

fn check_key_name(name: &str) -> Result<(), NoteError> {
    if is_valid_key_name(name) {
        Ok(())
    } else {
        Err(NoteError::InvalidKeyName {
            name: name.to_owned(),
        })
    }
}

/// `SHA-256(name || "\n" || 0x01 || public key)[:4]`, big-endian.
fn key_id(name: &str, public_key: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([ALG_ED25519]);
    h.update(public_key);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// Parse exactly eight hex digits.
fn parse_key_id(s: &str) -> Option<u32> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(s, 16).ok()
}

/// Decode `base64(0x01 || 32 bytes)`.
fn decode_typed_key(s: &str) -> Result<[u8; 32], String> {
    let bytes = BASE64
        .decode(s)
        .map_err(|_| "the key is not valid standard base64".to_owned())?;
    match bytes.split_first() {
        Some((&ALG_ED25519, key)) => key
            .try_into()
            .map_err(|_| format!("an Ed25519 key is 32 bytes, got {}", key.len())),
        Some((alg, _)) => Err(format!(
            "unsupported signature type 0x{alg:02x} (only Ed25519, 0x01, is supported)"
        )),
        None => Err("the key is empty".to_owned()),
    }
}

/// An Ed25519 signed-note signer (a log's checkpoint-signing key).
///
/// `Debug` shows the name and key id, never the secret.
#[derive(Clone)]
pub struct NoteSigner {
    name: String,
    key_id: u32,
    key: SigningKey,
}

impl fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .field("key_id", &format_args!("{:08x}", self.key_id))
            .finish_non_exhaustive()
    }
}

impl NoteSigner {
    /// Create a signer from a 32-byte Ed25519 seed (RFC 8032 secret key). The
    /// caller supplies the randomness (for example from the OS), keeping this crate
    /// free of I/O.
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Self, NoteError> {
        check_key_name(name)?;
        let key = SigningKey::from_bytes(&seed);
        let key_id = key_id(name, key.verifying_key().as_bytes());
        Ok(NoteSigner {
            name: name.to_owned(),
            key_id,
            key,
        })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// `"PRIVATE+KEY+<name>+<key id hex>+<base64(0x01 || seed)>"`, the format of
    /// Go's `golang.org/x/mod/sumdb/note`. Contains the secret: handle with care.
    pub fn to_secret_key_string(&self) -> String {
        let mut typed = [0u8; 33];
        typed[0] = ALG_ED25519;
        typed[1..].copy_from_slice(self.key.as_bytes());
        format!(
            "{SECRET_PREFIX}{}+{:08x}+{}",
            self.name,
            self.key_id,
            BASE64.encode(typed)
        )
    }

    /// Parse [`NoteSigner::to_secret_key_string`] output. The key id must match
    /// the name and key.
    pub fn from_secret_key_string(s: &str) -> Result<Self, NoteError> {
        let err = |reason: &str| NoteError::InvalidSecretKey {
            reason: reason.to_owned(),
        };
        let rest = s
            .strip_prefix(SECRET_PREFIX)
            .ok_or_else(|| err("it does not start with PRIVATE+KEY+"))?;
        // The base64 key may itself contain '+'.
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(err("expected three '+'-separated fields after PRIVATE+KEY"));
        };
        check_key_name(name)?;
        let id = parse_key_id(id).ok_or_else(|| err("the key id is not 8 hex digits"))?;
        let seed = decode_typed_key(key).map_err(|r| err(&r))?;
        let signer = NoteSigner::from_seed(name, seed)?;
        if signer.key_id != id {
            return Err(err("the key id does not match the name and key"));
        }
        Ok(signer)
    }

    /// The matching verifier.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            key_id: self.key_id,
            key: self.key.verifying_key(),
        }
    }

    /// Sign a checkpoint: the checkpoint body, a blank line, and the signature line
    /// `"— <name> <base64(key id || signature)>\n"`.
    ///
    /// # Panics
    ///
    /// If the checkpoint fails [`Checkpoint::validate`] (an empty origin or one with
    /// a newline would let the signed text be read as a different checkpoint). Use
    /// [`NoteSigner::try_sign_checkpoint`] to get an error instead.
    pub fn sign_checkpoint(&self, cp: &Checkpoint) -> String {
        match self.try_sign_checkpoint(cp) {
            Ok(note) => note,
            Err(e) => panic!("refusing to sign an invalid checkpoint: {e}"),
        }
    }

    /// Like [`NoteSigner::sign_checkpoint`], but returns an error for a checkpoint
    /// that fails [`Checkpoint::validate`].
    pub fn try_sign_checkpoint(&self, cp: &Checkpoint) -> Result<String, NoteError> {
        cp.validate()?;
        self.sign_note(&cp.body())
    }

    /// Sign an arbitrary note text: `text`, a blank line, and this key's signature
    /// line. The text must be non-empty, end with a newline and contain no control
    /// characters other than newlines.
    pub fn sign_note(&self, text: &str) -> Result<String, NoteError> {
        check_note_chars(text)?;
        if !text.ends_with('\n') {
            return Err(malformed_note("the text does not end with a newline"));
        }
        let sig = self.key.sign(text.as_bytes());
        let mut blob = [0u8; 4 + 64];
        blob[..4].copy_from_slice(&self.key_id.to_be_bytes());
        blob[4..].copy_from_slice(&sig.to_bytes());
        Ok(format!(
            "{text}\n{SIG_PREFIX}{} {}\n",
            self.name,
            BASE64.encode(blob)
        ))
    }
}

/// An Ed25519 signed-note verifier key.
///
/// Text form (`Display` / [`NoteVerifier::parse`]):
/// `"<name>+<key id hex>+<base64(0x01 || public key)>"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key_id: u32,
    key: VerifyingKey,
}

impl NoteVerifier {
    /// Parse a verifier key string. The key id must match the name and key.
    pub fn parse(vkey: &str) -> Result<Self, NoteError> {
        let err = |reason: &str| NoteError::InvalidVerifierKey {
            reason: reason.to_owned(),
        };
        // The base64 key may itself contain '+'.
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(err("expected three '+'-separated fields"));
        };
        check_key_name(name)?;
        let id = parse_key_id(id).ok_or_else(|| err("the key id is not 8 hex digits"))?;
        let key_bytes = decode_typed_key(key).map_err(|r| err(&r))?;
        let key = VerifyingKey::from_bytes(&key_bytes)
            .map_err(|_| err("the public key is not a valid Ed25519 point"))?;
        if key_id(name, &key_bytes) != id {
            return Err(err("the key id does not match the name and key"));
        }
        Ok(NoteVerifier {
            name: name.to_owned(),
            key_id: id,
            key,
        })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id: the first four bytes of `SHA-256(name || "\n" || 0x01 || public key)`.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The raw Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        let Ok(sig) = <[u8; 64]>::try_from(sig) else {
            return false;
        };
        self.key
            .verify_strict(msg, &Signature::from_bytes(&sig))
            .is_ok()
    }
}

impl fmt::Display for NoteVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut typed = [0u8; 33];
        typed[0] = ALG_ED25519;
        typed[1..].copy_from_slice(self.key.as_bytes());
        write!(
            f,
            "{}+{:08x}+{}",
            self.name,
            self.key_id,
            BASE64.encode(typed)
        )
    }
}

impl std::str::FromStr for NoteVerifier {
    type Err = NoteError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NoteVerifier::parse(s)
    }
}

/// Verify a signed checkpoint note and parse its body.
///
/// The note must be at most [`MAX_NOTE_BYTES`], contain no control characters but
/// newlines, end with a newline, and have a text and one or more well-formed
/// signature lines separated by the last blank line. Signatures from other keys
/// (another name or key id, e.g. witness cosignatures) are ignored; every signature
/// line carrying the verifier's name and key id must verify, and there must be at
/// least one. The origin is whatever the body says: callers check it against their
/// expectations.
pub fn open_checkpoint(note: &str, verifier: &NoteVerifier) -> Result<Checkpoint, NoteError> {
    Checkpoint::parse_body(open_note(note, verifier)?)
}

fn check_note_chars(s: &str) -> Result<(), NoteError> {
    match s.chars().find(|c| is_ascii_control(*c) && *c != '\n') {
        Some(c) => Err(malformed_note(&format!(
            "contains control character U+{:04X}",
            u32::from(c)
        ))),
        None => Ok(()),
    }
}

/// Verify a signed note (c2sp.org/signed-note) and return its text, including
/// the final newline. See [`open_checkpoint`] for the rules.
pub fn open_note<'a>(note: &'a str, verifier: &NoteVerifier) -> Result<&'a str, NoteError> {
    if note.len() > MAX_NOTE_BYTES {
        return Err(NoteError::NoteTooLarge {
            size: note.len(),
            max: MAX_NOTE_BYTES,
        });
    }
    check_note_chars(note)?;
    if !note.ends_with('\n') {
        return Err(malformed_note("does not end with a newline"));
    }
    // The text ends at the newline before the last blank line.
    let split = note
        .rfind("\n\n")
        .ok_or_else(|| malformed_note("no blank line separates the text from the signatures"))?;
    let text = &note[..=split];
    let sig_block = &note[split + 2..];
    if sig_block.is_empty() {
        return Err(malformed_note("no signature lines after the blank line"));
    }
    let lines: Vec<&str> = sig_block
        .strip_suffix('\n')
        .unwrap_or(sig_block)
        .split('\n')
        .collect();
    if lines.len() > MAX_SIGNATURES {
        return Err(malformed_note(&format!(
            "{} signature lines, more than the limit of {MAX_SIGNATURES}",
            lines.len()
        )));
    }
    let mut verified = false;
    for line in lines {
        let rest = line
            .strip_prefix(SIG_PREFIX)
            .ok_or_else(|| malformed_note("a signature line does not start with \"\u{2014} \""))?;
        let (name, b64) = rest.split_once(' ').ok_or_else(|| {
            malformed_note("a signature line has no space between key name and signature")
        })?;
        if !is_valid_key_name(name) {
            return Err(malformed_note(&format!(
                "a signature line has an invalid key name {name:?}"
            )));
        }
        let blob = BASE64
            .decode(b64)
            .map_err(|_| malformed_note("a signature is not valid standard base64"))?;
        if blob.len() < 5 {
            return Err(malformed_note(
                "a signature is shorter than a key id plus one byte",
            ));
        }
        let id = u32::from_be_bytes([blob[0], blob[1], blob[2], blob[3]]);
        if name != verifier.name || id != verifier.key_id {
            continue;
        }
        if !verifier.verify(text.as_bytes(), &blob[4..]) {
            return Err(NoteError::InvalidSignature {
                name: verifier.name.clone(),
                key_id: verifier.key_id,
            });
        }
        verified = true;
    }
    if !verified {
        return Err(NoteError::MissingSignature {
            name: verifier.name.clone(),
            key_id: verifier.key_id,
        });
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;

    const SEED: [u8; 32] = [7u8; 32];

    fn signer() -> NoteSigner {
        NoteSigner::from_seed("example.com/log", SEED).unwrap()
    }

    fn checkpoint() -> Checkpoint {
        Checkpoint {
            origin: "example.com/log".into(),
            size: 20852163,
            root: leaf_hash(b"root"),
        }
    }

    #[test]
    fn round_trip() {
        let s = signer();
        let cp = checkpoint();
        let note = s.sign_checkpoint(&cp);
        assert!(note.starts_with(&cp.body()));
        assert!(note.contains("\n\n\u{2014} example.com/log "));
        assert!(note.ends_with('\n'));
        assert_eq!(open_checkpoint(&note, &s.verifier()).unwrap(), cp);
        // Deterministic signatures (RFC 8032).
        assert_eq!(s.sign_checkpoint(&cp), note);
    }

    #[test]
    fn body_format() {
        let cp = Checkpoint {
            origin: "o".into(),
            size: 0,
            root: crate::hash::empty_root(),
        };
        assert_eq!(
            cp.body(),
            "o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
        );
        assert_eq!(Checkpoint::parse_body(&cp.body()).unwrap(), cp);
    }

    #[test]
    fn parse_body_rules() {
        let root = leaf_hash(b"root").to_base64();
        let ok = |s: &str| Checkpoint::parse_body(s).is_ok();
        assert!(ok(&format!("o\n5\n{root}\n")));
        assert!(ok(&format!("o\n5\n{root}\next one\next two\n")));
        assert!(ok(&format!(
            "origin with spaces\n18446744073709551615\n{root}\n"
        )));
        assert!(!ok(&format!("o\n5\n{root}")), "missing final newline");
        assert!(!ok(&format!("o\n5\n{root}\n\n")), "empty extension line");
        assert!(!ok(&format!("\n5\n{root}\n")), "empty origin");
        assert!(!ok(&format!("o\n05\n{root}\n")), "leading zero");
        assert!(!ok(&format!("o\n+5\n{root}\n")));
        assert!(!ok(&format!("o\n-5\n{root}\n")));
        assert!(!ok(&format!("o\n\n{root}\n")));
        assert!(
            !ok(&format!("o\n18446744073709551616\n{root}\n")),
            "overflow"
        );
        assert!(!ok("o\n5\nV3JvbmdSb290\n"), "short root");
        assert!(!ok("o\n5\n"));
        assert!(!ok(""));
        assert!(!ok(&format!("o\r\n5\n{root}\n")), "CR");
        assert!(!ok(&format!("o\n5\n{root}\n\text\n")), "tab");
    }

    #[test]
    fn extension_lines_are_ignored_but_signed() {
        let s = signer();
        let cp = checkpoint();
        // Hand-sign a body with an extension line.
        let note = s.sign_note(&format!("{}ext\n", cp.body())).unwrap();
        assert_eq!(open_checkpoint(&note, &s.verifier()).unwrap(), cp);
        // Dropping the extension line breaks the signature.
        let stripped = note.replacen("ext\n", "", 1);
        assert!(matches!(
            open_checkpoint(&stripped, &s.verifier()),
            Err(NoteError::InvalidSignature { .. })
        ));
    }

    #[test]
    fn tampering_is_rejected() {
        let s = signer();
        let v = s.verifier();
        let cp = checkpoint();
        let note = s.sign_checkpoint(&cp);

        let tampered_size = note.replacen("20852163", "20852164", 1);
        assert!(matches!(
            open_checkpoint(&tampered_size, &v),
            Err(NoteError::InvalidSignature { .. })
        ));
        let tampered_origin = note.replacen("example.com/log\n", "example.com/loh\n", 1);
        assert!(matches!(
            open_checkpoint(&tampered_origin, &v),
            Err(NoteError::InvalidSignature { .. })
        ));

        // Flip one bit inside the signature bytes (after the key id).
        let (head, sig_line) = note.split_at(note.rfind('\u{2014}').unwrap());
        let b64 = sig_line.trim_end().rsplit(' ').next().unwrap();
        let mut blob = BASE64.decode(b64).unwrap();
        blob[10] ^= 1;
        let bad = format!("{head}\u{2014} {} {}\n", s.name, BASE64.encode(&blob));
        assert!(matches!(
            open_checkpoint(&bad, &v),
            Err(NoteError::InvalidSignature { .. })
        ));
        // Truncated signature from our key.
        let short = format!("{head}\u{2014} {} {}\n", s.name, BASE64.encode(&blob[..40]));
        assert!(matches!(
            open_checkpoint(&short, &v),
            Err(NoteError::InvalidSignature { .. })
        ));
    }

    #[test]
    fn wrong_key_and_missing_signature() {
        let s = signer();
        let note = s.sign_checkpoint(&checkpoint());
        // Same name, different key: different key id, so the signature is unknown.
        let other = NoteSigner::from_seed("example.com/log", [8u8; 32]).unwrap();
        assert!(matches!(
            open_checkpoint(&note, &other.verifier()),
            Err(NoteError::MissingSignature { .. })
        ));
        // Different name, same seed.
        let renamed = NoteSigner::from_seed("example.com/other", SEED).unwrap();
        assert!(matches!(
            open_checkpoint(&note, &renamed.verifier()),
            Err(NoteError::MissingSignature { .. })
        ));
        // Body with no signature block at all.
        assert!(matches!(
            open_checkpoint(&checkpoint().body(), &s.verifier()),
            Err(NoteError::MalformedNote { .. })
        ));
        assert!(matches!(
            open_checkpoint(&format!("{}\n", checkpoint().body()), &s.verifier()),
            Err(NoteError::MalformedNote { .. })
        ));
    }

    #[test]
    fn unknown_signatures_are_ignored() {
        let s = signer();
        let witness = NoteSigner::from_seed("witness.example/w1", [9u8; 32]).unwrap();
        let note = s.sign_checkpoint(&checkpoint());
        let witness_note = witness.sign_checkpoint(&checkpoint());
        let witness_line = &witness_note[witness_note.rfind('\u{2014}').unwrap()..];
        let cosigned = format!("{note}{witness_line}");
        assert_eq!(
            open_checkpoint(&cosigned, &s.verifier()).unwrap(),
            checkpoint()
        );
        assert_eq!(
            open_checkpoint(&cosigned, &witness.verifier()).unwrap(),
            checkpoint()
        );
        // An unknown line before ours too.
        let (head, ours) = note.split_at(note.rfind('\u{2014}').unwrap());
        let reordered = format!("{head}{witness_line}{ours}");
        assert_eq!(
            open_checkpoint(&reordered, &s.verifier()).unwrap(),
            checkpoint()
        );
        // But a bad signature from our key fails the whole note even if another of
        // ours is good.
        let mut blob = BASE64
            .decode(ours.trim_end().rsplit(' ').next().unwrap())
            .unwrap();
        blob[20] ^= 0x80;
        let bad_line = format!("\u{2014} {} {}\n", s.name, BASE64.encode(&blob));
        let mixed = format!("{note}{bad_line}");
        assert!(open_checkpoint(&mixed, &s.verifier()).is_err());
    }

    #[test]
    fn garbage_is_rejected() {
        let v = signer().verifier();
        let note = signer().sign_checkpoint(&checkpoint());
        let cases: Vec<String> = vec![
            String::new(),
            "\n".into(),
            "\n\n".into(),
            "hello".into(),
            "hello\n\n".into(),
            note.trim_end().to_owned(),
            note.replace('\u{2014}', "-"),
            note.replace('\n', "\r\n"),
            format!("{note}garbage\n"),
            format!("{note}\u{2014} \n"),
            format!("{note}\u{2014} name\n"),
            format!("{note}\u{2014} name !!!\n"),
            format!("{note}\u{2014} name AAAA\n"),
            format!("{note}\u{2014} na+me AAAAAAAA\n"),
            note.replacen("\u{2014} ", "\u{2014}  ", 1),
            "x".repeat(MAX_NOTE_BYTES + 1),
            format!("{note}{}", "\u{2014} a AAAAAAAA\n".repeat(MAX_SIGNATURES)),
        ];
        for (i, case) in cases.iter().enumerate() {
            assert!(
                open_checkpoint(case, &v).is_err(),
                "case {i} accepted: {case:?}"
            );
        }
        // A valid signature over a body that is not a checkpoint.
        let note = signer().sign_note("not a checkpoint\n").unwrap();
        assert!(matches!(
            open_checkpoint(&note, &v),
            Err(NoteError::MalformedCheckpoint { .. })
        ));
    }

    #[test]
    fn key_strings_round_trip() {
        let s = signer();
        let sk = s.to_secret_key_string();
        assert!(sk.starts_with("PRIVATE+KEY+example.com/log+"));
        let s2 = NoteSigner::from_secret_key_string(&sk).unwrap();
        assert_eq!(s2.key.as_bytes(), s.key.as_bytes());
        assert_eq!(s2.verifier(), s.verifier());

        let vk = s.verifier().to_string();
        assert_eq!(vk.split('+').nth(1).unwrap(), format!("{:08x}", s.key_id()));
        let v = NoteVerifier::parse(&vk).unwrap();
        assert_eq!(v, s.verifier());
        assert_eq!(v.to_string(), vk);
        assert_eq!(vk.parse::<NoteVerifier>().unwrap(), v);
        assert!(!format!("{s:?}").contains(&BASE64.encode(SEED)));
    }

    #[test]
    fn key_string_errors() {
        let s = signer();
        let vk = s.verifier().to_string();
        let sk = s.to_secret_key_string();
        let parts: Vec<&str> = vk.splitn(3, '+').collect();
        for bad in [
            String::new(),
            "a+b".into(),
            format!("{vk}+x"),
            format!("other.name+{}+{}", parts[1], parts[2]),
            format!("{}+00000000+{}", parts[0], parts[2]),
            format!("{}+{}+AAAA", parts[0], parts[1]),
            format!("{}+{}x+{}", parts[0], parts[1], parts[2]),
            format!(" +{}+{}", parts[1], parts[2]),
            // Wrong algorithm byte.
            format!("{}+{}+{}", parts[0], parts[1], BASE64.encode([2u8; 33])),
        ] {
            assert!(NoteVerifier::parse(&bad).is_err(), "accepted {bad:?}");
        }
        assert!(NoteSigner::from_secret_key_string(&vk).is_err());
        assert!(NoteSigner::from_secret_key_string(&sk.replace("PRIVATE", "PUBLIC")).is_err());
        let sparts: Vec<&str> = sk.splitn(5, '+').collect();
        let wrong_id = format!("PRIVATE+KEY+{}+00000000+{}", sparts[2], sparts[4]);
        assert!(NoteSigner::from_secret_key_string(&wrong_id).is_err());
        // Errors about secret keys do not echo key material.
        let e = NoteSigner::from_secret_key_string(&wrong_id).unwrap_err();
        assert!(!e.to_string().contains(sparts[4]));
    }

    #[test]
    fn key_name_rules() {
        for bad in ["", "a b", "a+b", "a\tb", "a\u{00a0}b", "a\u{2003}b", "a\nb"] {
            assert!(
                NoteSigner::from_seed(bad, SEED).is_err(),
                "accepted {bad:?}"
            );
        }
        for good in ["a", "example.com/log42", "ünïcode/名前"] {
            assert!(
                NoteSigner::from_seed(good, SEED).is_ok(),
                "rejected {good:?}"
            );
        }
    }

    #[test]
    fn invalid_checkpoints_are_not_signed() {
        let s = signer();
        let mut cp = checkpoint();
        cp.origin = "evil\n1\nAAAA".into();
        assert!(s.try_sign_checkpoint(&cp).is_err());
        cp.origin = String::new();
        assert!(s.try_sign_checkpoint(&cp).is_err());
        let r = std::panic::catch_unwind(|| s.sign_checkpoint(&cp));
        assert!(r.is_err());
    }

    /// Interoperability with the Go implementation (golang.org/x/mod/sumdb/note):
    /// its documented example keys and signed note. Ed25519 is deterministic, so
    /// signing the same text must reproduce the published note byte for byte.
    #[test]
    fn go_sumdb_note_example() {
        let skey = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
        let vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
        let text = "If you think cryptography is the answer to your problem,\n\
                    then you don't know what your problem is.\n";
        let want = format!(
            "{text}\n\u{2014} PeterNeumann \
             x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
        );
        let signer = NoteSigner::from_secret_key_string(skey).unwrap();
        assert_eq!(signer.to_secret_key_string(), skey);
        let v = NoteVerifier::parse(vkey).unwrap();
        assert_eq!(v.name(), "PeterNeumann");
        assert_eq!(v.key_id(), 0xc74f20a3);
        assert_eq!(v.to_string(), vkey);
        assert_eq!(signer.verifier(), v);
        assert_eq!(signer.sign_note(text).unwrap(), want);
        assert_eq!(open_note(&want, &v).unwrap(), text);
        assert!(open_note(&want.replace("cryptography", "cryptographY"), &v).is_err());
        // Not a checkpoint, so open_checkpoint rejects it after verifying.
        assert!(matches!(
            open_checkpoint(&want, &v),
            Err(NoteError::MalformedCheckpoint { .. })
        ));
    }

    #[test]
    fn sign_note_rules() {
        let s = signer();
        assert!(s.sign_note("").is_err());
        assert!(s.sign_note("no newline").is_err());
        assert!(s.sign_note("tab\there\n").is_err());
        // Empty lines inside the text are allowed; the last blank line separates.
        let note = s.sign_note("a\n\nb\n").unwrap();
        assert_eq!(open_note(&note, &s.verifier()).unwrap(), "a\n\nb\n");
    }
}
