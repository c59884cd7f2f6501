//! A reader for the DAWG files of pymorphy2/pymorphy3 dictionaries (the `dawgdic` format
//! that DAWG-Python reads): a double-array dictionary followed by a guide for completion.
//!
//! Every index read from the file is bounds-checked: a damaged file gives wrong lookups or
//! an error at load time, never a panic.

use std::path::Path;

use crate::Error;

const HAS_LEAF_BIT: u32 = 1 << 8;
const EXTENSION_BIT: u32 = 1 << 9;
const IS_LEAF_BIT: u32 = 1 << 31;
const PAYLOAD_SEPARATOR: u8 = 0x01;

/// The double-array part: transitions and values.
#[derive(Debug)]
struct Dictionary {
    units: Vec<u32>,
}

impl Dictionary {
    const ROOT: u32 = 0;

    fn unit(&self, index: u32) -> u32 {
        self.units.get(index as usize).copied().unwrap_or(0)
    }

    fn has_value(&self, index: u32) -> bool {
        self.unit(index) & HAS_LEAF_BIT != 0
    }

    fn offset(base: u32) -> u32 {
        (base >> 10) << ((base & EXTENSION_BIT) >> 6)
    }

    fn value(&self, index: u32) -> u32 {
        let offset = Self::offset(self.unit(index));
        self.unit(index ^ offset) & !IS_LEAF_BIT
    }

    fn follow_char(&self, label: u8, index: u32) -> Option<u32> {
        let offset = Self::offset(self.unit(index));
        let next = index ^ offset ^ label as u32;
        if (next as usize) >= self.units.len() {
            return None;
        }
        if self.unit(next) & (IS_LEAF_BIT | 0xFF) != label as u32 {
            return None;
        }
        Some(next)
    }

    /// Follows `bytes` from `index`. Like DAWG-Python, index 0 counts as "not found".
    fn follow_bytes(&self, bytes: &[u8], mut index: u32) -> Option<u32> {
        for &b in bytes {
            index = self.follow_char(b, index)?;
        }
        if index == 0 && !bytes.is_empty() {
            return None;
        }
        Some(index)
    }
}

/// The guide: first child and next sibling labels, for enumerating completions in order.
#[derive(Debug)]
struct Guide {
    units: Vec<u8>,
}

impl Guide {
    fn child(&self, index: u32) -> u8 {
        self.units.get(index as usize * 2).copied().unwrap_or(0)
    }
    fn sibling(&self, index: u32) -> u8 {
        self.units.get(index as usize * 2 + 1).copied().unwrap_or(0)
    }
}

fn read_u32(bytes: &[u8], at: usize, path: &Path) -> Result<u32, Error> {
    bytes
        .get(at..at + 4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| Error::Dictionary(format!("{}: truncated DAWG file", path.display())))
}

fn parse_dictionary(bytes: &[u8], path: &Path) -> Result<(Dictionary, usize), Error> {
    let size = read_u32(bytes, 0, path)? as usize;
    let end = 4 + size * 4;
    let body = bytes
        .get(4..end)
        .ok_or_else(|| Error::Dictionary(format!("{}: truncated DAWG dictionary", path.display())))?;
    let units = body
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Ok((Dictionary { units }, end))
}

fn parse_guide(bytes: &[u8], at: usize, path: &Path) -> Result<Guide, Error> {
    let size = read_u32(bytes, at, path)? as usize;
    let body = bytes
        .get(at + 4..at + 4 + size * 2)
        .ok_or_else(|| Error::Dictionary(format!("{}: truncated DAWG guide", path.display())))?;
    Ok(Guide { units: body.to_vec() })
}

fn read_file(path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        source: e,
    })
}

/// A DAWG whose keys carry binary payloads (DAWG-Python's `BytesDAWG`/`RecordDAWG`):
/// `key \x01 base64(payload)`.
#[derive(Debug)]
pub struct BytesDawg {
    dct: Dictionary,
    guide: Guide,
}

/// One key found by [`BytesDawg::similar_items`] and its payloads.
pub type SimilarItem = (String, Vec<Vec<u8>>);

impl BytesDawg {
    pub fn load(path: &Path) -> Result<Self, Error> {
        let bytes = read_file(path)?;
        Self::from_bytes(&bytes, path)
    }

    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self, Error> {
        let (dct, end) = parse_dictionary(bytes, path)?;
        let guide = parse_guide(bytes, end, path)?;
        Ok(BytesDawg { dct, guide })
    }

    /// All payloads under a node, in the order DAWG-Python's completer gives them.
    fn values_at(&self, index: u32) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        if self.guide.units.is_empty() {
            return out;
        }
        let mut key: Vec<u8> = Vec::new();
        let mut stack: Vec<u32> = vec![index];
        let mut last_index = Dictionary::ROOT;
        // Bounded: a damaged guide could otherwise loop.
        let mut budget = 1_000_000usize;
        loop {
            budget -= 1;
            if budget == 0 {
                break;
            }
            let Some(&top) = stack.last() else { break };
            let mut idx = top;
            if last_index != Dictionary::ROOT {
                let child = self.guide.child(idx);
                if child != 0 {
                    match self.dct.follow_char(child, idx) {
                        Some(next) => {
                            key.push(child);
                            stack.push(next);
                            idx = next;
                        }
                        None => break,
                    }
                } else {
                    let mut found = false;
                    loop {
                        let sibling = self.guide.sibling(idx);
                        key.pop();
                        stack.pop();
                        let Some(&parent) = stack.last() else { break };
                        idx = parent;
                        if sibling != 0 {
                            if let Some(next) = self.dct.follow_char(sibling, idx) {
                                key.push(sibling);
                                stack.push(next);
                                idx = next;
                                found = true;
                            }
                            break;
                        }
                    }
                    if !found {
                        break;
                    }
                }
            }
            // Find the terminal below idx.
            let mut ok = true;
            while !self.dct.has_value(idx) {
                let label = self.guide.child(idx);
                match self.dct.follow_char(label, idx) {
                    Some(next) => {
                        key.push(label);
                        stack.push(next);
                        idx = next;
                    }
                    None => {
                        ok = false;
                        break;
                    }
                }
                if key.len() > 4096 {
                    ok = false;
                    break;
                }
            }
            if !ok {
                break;
            }
            last_index = idx;
            out.push(decode_base64(&key));
        }
        out
    }

    /// The payloads stored under `key`, if any.
    pub fn get(&self, key: &str) -> Option<Vec<Vec<u8>>> {
        let index = self.dct.follow_bytes(key.as_bytes(), Dictionary::ROOT)?;
        let index = self.dct.follow_bytes(&[PAYLOAD_SEPARATOR], index)?;
        Some(self.values_at(index))
    }

    /// Keys equal to `key` up to the replacements (`е` may stand for `ё`), with their
    /// payloads; the exact key first, as DAWG-Python orders them.
    pub fn similar_items(&self, key: &str, replaces: &[(char, char)]) -> Vec<SimilarItem> {
        let chars: Vec<char> = key.chars().collect();
        self.similar_rec(String::new(), 0, &chars, Dictionary::ROOT, replaces)
    }

    fn similar_rec(
        &self,
        prefix: String,
        start: usize,
        key: &[char],
        mut index: u32,
        replaces: &[(char, char)],
    ) -> Vec<SimilarItem> {
        let mut res = Vec::new();
        let mut pos = start;
        let mut buf = [0u8; 4];
        let mut complete = true;
        while pos < key.len() {
            let c = key[pos];
            for &(from, to) in replaces {
                if from == c {
                    if let Some(next) = self.dct.follow_bytes(to.encode_utf8(&mut buf).as_bytes(), index) {
                        let mut p = prefix.clone();
                        p.extend(&key[start..pos]);
                        p.push(to);
                        res.extend(self.similar_rec(p, pos + 1, key, next, replaces));
                    }
                }
            }
            match self.dct.follow_bytes(c.encode_utf8(&mut buf).as_bytes(), index) {
                Some(next) => index = next,
                None => {
                    complete = false;
                    break;
                }
            }
            pos += 1;
        }
        if complete {
            if let Some(vi) = self.dct.follow_bytes(&[PAYLOAD_SEPARATOR], index) {
                let mut found = prefix;
                found.extend(&key[start..]);
                res.insert(0, (found, self.values_at(vi)));
            }
        }
        res
    }
}

/// A DAWG mapping keys to integers (DAWG-Python's `IntDAWG`).
#[derive(Debug)]
pub struct IntDawg {
    dct: Dictionary,
}

impl IntDawg {
    pub fn load(path: &Path) -> Result<Self, Error> {
        let bytes = read_file(path)?;
        let (dct, _) = parse_dictionary(&bytes, path)?;
        Ok(IntDawg { dct })
    }

    pub fn get(&self, key: &str) -> Option<u32> {
        let index = self.dct.follow_bytes(key.as_bytes(), Dictionary::ROOT)?;
        if !self.dct.has_value(index) {
            return None;
        }
        Some(self.dct.value(index))
    }
}

fn b64_value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Standard base64, ignoring padding and anything that is not a base64 character.
fn decode_base64(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0u32;
    for &c in input {
        let Some(v) = b64_value(c) else { continue };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_roundtrip_examples() {
        assert_eq!(decode_base64(b"AAEAAg=="), vec![0, 1, 0, 2]);
        assert_eq!(decode_base64(b"aGVsbG8=\n"), b"hello".to_vec());
        assert_eq!(decode_base64(b""), Vec::<u8>::new());
    }

    #[test]
    fn damaged_files_are_errors() {
        let p = Path::new("x.dawg");
        assert!(BytesDawg::from_bytes(&[1, 2], p).is_err());
        assert!(BytesDawg::from_bytes(&[5, 0, 0, 0, 1, 2, 3], p).is_err());
    }

    #[test]
    fn garbage_units_do_not_panic() {
        let p = Path::new("x.dawg");
        let mut bytes = vec![8, 0, 0, 0];
        bytes.extend((0..32).map(|i: u32| (i * 37) as u8));
        bytes.extend([4, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1]);
        let d = BytesDawg::from_bytes(&bytes, p).unwrap();
        let _ = d.similar_items("абв", &[('е', 'ё')]);
        let _ = d.get("x");
    }
}
