//! Decoding and repair of raw text: lenient UTF-8, mojibake, HTML entities.
//!
//! Tweets scraped and re-saved by several tools arrive with three kinds of damage:
//! bytes that are not UTF-8 at all, UTF-8 that was read as Latin-1 / cp1252 and saved
//! again (`ð±` for an emoji, `â¦` for `…`, `Ã©` for `é`), and HTML entities (`&amp;`).
//! Each repair here is local and conservative: a sequence is only rewritten when the
//! rewritten form is valid UTF-8.

use std::borrow::Cow;

/// Decodes bytes as UTF-8, replacing each invalid sequence with U+FFFD.
/// Returns the text and whether anything was replaced.
pub fn decode_lossy(bytes: &[u8]) -> (Cow<'_, str>, bool) {
    let text = String::from_utf8_lossy(bytes);
    let replaced = matches!(text, Cow::Owned(_));
    (text, replaced)
}

/// The byte that a character stands for when UTF-8 was mis-read as Latin-1 or cp1252.
fn mojibake_byte(c: char) -> Option<u8> {
    let cp = c as u32;
    if (0x80..=0xFF).contains(&cp) {
        return Some(cp as u8);
    }
    // cp1252's printable characters in 0x80..0x9F.
    let b = match c {
        '€' => 0x80,
        '‚' => 0x82,
        'ƒ' => 0x83,
        '„' => 0x84,
        '…' => 0x85,
        '†' => 0x86,
        '‡' => 0x87,
        'ˆ' => 0x88,
        '‰' => 0x89,
        'Š' => 0x8A,
        '‹' => 0x8B,
        'Œ' => 0x8C,
        'Ž' => 0x8E,
        '‘' => 0x91,
        '’' => 0x92,
        '“' => 0x93,
        '”' => 0x94,
        '•' => 0x95,
        '–' => 0x96,
        '—' => 0x97,
        '˜' => 0x98,
        '™' => 0x99,
        'š' => 0x9A,
        '›' => 0x9B,
        'œ' => 0x9C,
        'ž' => 0x9E,
        'Ÿ' => 0x9F,
        _ => return None,
    };
    Some(b)
}

/// Repairs UTF-8 that was decoded as Latin-1/cp1252 and encoded again.
///
/// Works sequence by sequence: a lead character (`Â`..`ô`) followed by the right number of
/// continuation characters is replaced by the character those bytes encode in UTF-8.
/// Anything else is left as it is, so correct Latin-1 text (`café`) is not touched.
pub fn repair_mojibake(text: &str) -> Cow<'_, str> {
    // Fast path: every mojibake sequence starts with a character in U+00C2..U+00F4.
    if !text.chars().any(|c| ('\u{C2}'..='\u{F4}').contains(&c)) {
        return Cow::Borrowed(text);
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut i = 0;
    while i < chars.len() {
        if let Some((decoded, used)) = decode_sequence(&chars[i..]) {
            out.push(decoded);
            i += used;
            changed = true;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(text)
    }
}

/// Tries to read one UTF-8 sequence, written as mojibake, at the start of `chars`.
fn decode_sequence(chars: &[char]) -> Option<(char, usize)> {
    let lead = mojibake_byte(*chars.first()?)?;
    let len = match lead {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return None,
    };
    if chars.len() < len {
        return None;
    }
    let mut bytes = [lead, 0, 0, 0];
    for k in 1..len {
        let b = mojibake_byte(chars[k])?;
        if !(0x80..=0xBF).contains(&b) {
            return None;
        }
        bytes[k] = b;
    }
    let s = std::str::from_utf8(&bytes[..len]).ok()?;
    s.chars().next().map(|c| (c, len))
}

/// Decodes HTML entities (`&amp;`, `&lt;`, `&#39;`, `&#x1F600;`), twice if the text was
/// escaped twice (`&amp;amp;`).
pub fn decode_entities(text: &str) -> Cow<'_, str> {
    if !text.contains('&') {
        return Cow::Borrowed(text);
    }
    let once = html_escape::decode_html_entities(text);
    if once.contains('&') && once != text {
        let twice = html_escape::decode_html_entities(&once).into_owned();
        return Cow::Owned(twice);
    }
    once
}

/// What `repair` changed in one text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RepairReport {
    pub mojibake: bool,
    pub entities: bool,
}

impl RepairReport {
    pub fn any(&self) -> bool {
        self.mojibake || self.entities
    }
}

/// Runs the enabled repairs in order: mojibake first (entities may hide inside it), then
/// HTML entities.
pub fn repair(text: &str, mojibake: bool, entities: bool) -> (String, RepairReport) {
    let mut report = RepairReport::default();
    let step1 = if mojibake {
        let r = repair_mojibake(text);
        report.mojibake = matches!(r, Cow::Owned(_));
        r
    } else {
        Cow::Borrowed(text)
    };
    let step2 = if entities {
        let r = decode_entities(&step1);
        report.entities = matches!(r, Cow::Owned(_));
        r.into_owned()
    } else {
        step1.into_owned()
    };
    (step2, report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn as_mojibake(s: &str) -> String {
        // What a Latin-1 reader makes of UTF-8 bytes.
        s.bytes().map(|b| b as char).collect()
    }

    #[test]
    fn repairs_latin1_mojibake_of_emoji_and_accents() {
        for original in ["📱 phone", "café", "wait…", "love ❤️ you", "привет"] {
            let broken = as_mojibake(original);
            assert_ne!(broken, original);
            assert_eq!(repair_mojibake(&broken), original, "{broken:?}");
        }
    }

    #[test]
    fn repairs_cp1252_mojibake() {
        // "…" is E2 80 A6; cp1252 shows 0x80 as '€' and 0xA6 as '¦'.
        assert_eq!(repair_mojibake("wait\u{e2}\u{20ac}\u{a6}"), "wait…");
    }

    #[test]
    fn leaves_clean_text_alone() {
        for clean in ["café crème", "naïve Ångström", "plain ascii", "Ôô"] {
            assert!(matches!(repair_mojibake(clean), Cow::Borrowed(_)), "{clean}");
        }
    }

    #[test]
    fn decodes_entities_once_and_twice() {
        assert_eq!(decode_entities("a &amp; b &lt;3"), "a & b <3");
        assert_eq!(decode_entities("x &amp;amp; y"), "x & y");
        assert_eq!(decode_entities("&#39;hi&#x21;"), "'hi!");
        assert_eq!(decode_entities("no entity & here"), "no entity & here");
    }

    #[test]
    fn lossy_decoding_counts_invalid_bytes() {
        let (text, replaced) = decode_lossy(b"ok \xff\xfe end");
        assert!(replaced);
        assert!(text.contains('\u{FFFD}'));
        let (_, replaced) = decode_lossy("fine".as_bytes());
        assert!(!replaced);
    }

    #[test]
    fn repair_reports_what_changed() {
        let (text, report) = repair(&as_mojibake("a ❤ &amp; b"), true, true);
        assert_eq!(text, "a ❤ & b");
        assert!(report.mojibake && report.entities);
    }
}
