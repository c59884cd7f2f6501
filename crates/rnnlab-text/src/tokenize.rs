//! A tweet-aware tokenizer: URLs, @mentions, #hashtags, emoticons, emoji, numbers and
//! words in Cyrillic and Latin script (with inner hyphens and apostrophes).
//!
//! It is a hand-written scanner over characters: no regular expressions, one pass, and
//! every input (any Unicode, any length) yields tokens without panicking.

use serde::{Deserialize, Serialize};

/// What a token is; filters decide by kind, not by looking at the text again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    Word,
    Number,
    Url,
    Mention,
    Hashtag,
    Emoticon,
    Emoji,
    Punct,
}

/// One token. `negation` is set when a negation particle was joined to this word
/// (`не люблю` → particle `не`, text `люблю`); stemming and lemmatisation apply to `text` only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub text: String,
    pub kind: TokenKind,
    pub negation: Option<String>,
}

impl Token {
    pub fn new(text: impl Into<String>, kind: TokenKind) -> Self {
        Token {
            text: text.into(),
            kind,
            negation: None,
        }
    }

    /// The token as it appears in output: `не_любить` for a negated word.
    pub fn render(&self) -> String {
        match &self.negation {
            Some(p) => format!("{p}_{}", self.text),
            None => self.text.clone(),
        }
    }
}

/// What to do with URLs and @mentions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Placeholder {
    /// Keep the token as written (lowercased).
    Keep,
    /// Replace it by a placeholder token (`<url>`, `<user>`).
    #[default]
    Replace,
    /// Drop it.
    Drop,
}

/// Tokenizer settings; the defaults are what tweets need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TokenizerConfig {
    pub urls: Placeholder,
    pub mentions: Placeholder,
    /// `#word` becomes the token `word`; when false the `#` is kept (`#word`).
    pub hashtag_word: bool,
    /// Squeeze letters repeated more than twice to two (`уезжаааай` → `уезжаай`).
    pub squeeze_repeats: bool,
    pub lowercase: bool,
    /// Split on whitespace only, as Python's `str.split()`, every piece a word token: for texts
    /// tokenized elsewhere (scripts/anchor-tokens.py writes the PyTorch anchor's). Of the
    /// settings above only `lowercase` then applies.
    pub whitespace: bool,
    /// The fastText anchor's split: lowercase (if `lowercase`), then the regular expression
    /// `\w+|[^\w\s]` (runs of letters, digits and `_`; every other non-space character alone).
    /// Of the settings above only `lowercase` then applies.
    pub simple: bool,
}

impl Default for TokenizerConfig {
    fn default() -> Self {
        TokenizerConfig {
            urls: Placeholder::Replace,
            mentions: Placeholder::Replace,
            hashtag_word: true,
            squeeze_repeats: true,
            lowercase: true,
            whitespace: false,
            simple: false,
        }
    }
}

pub const URL_PLACEHOLDER: &str = "<url>";
pub const USER_PLACEHOLDER: &str = "<user>";

fn is_emoji(c: char) -> bool {
    matches!(c as u32,
        0x1F000..=0x1FAFF   // mahjong .. symbols & pictographs extended-A
        | 0x2600..=0x27BF   // misc symbols, dingbats
        | 0x2B00..=0x2BFF   // arrows, stars
        | 0x2190..=0x21FF   // arrows
        | 0x2300..=0x23FF   // misc technical (⌚ ⏰)
        | 0x3030 | 0x303D | 0x3297 | 0x3299 | 0x00A9 | 0x00AE | 0x203C | 0x2049 | 0x2122 | 0x2139)
}

/// Characters that only modify the emoji before them: variation selectors, joiners,
/// skin tones, tag characters. They are dropped.
fn is_emoji_modifier(c: char) -> bool {
    matches!(c as u32, 0xFE00..=0xFE0F | 0x200D | 0x1F3FB..=0x1F3FF | 0xE0020..=0xE007F | 0x20E3)
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric()
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '’' | 'ʼ')
}

fn starts_with_ci(chars: &[char], i: usize, pat: &str) -> bool {
    let mut k = i;
    for p in pat.chars() {
        match chars.get(k) {
            Some(c) if c.to_ascii_lowercase() == p => k += 1,
            _ => return false,
        }
    }
    true
}

/// Length of an emoticon starting at `i`, and its normalised form.
fn emoticon_at(chars: &[char], i: usize) -> Option<(usize, String)> {
    let c = chars[i];
    // Russian-style `))` and `((`: a run of two or more.
    if c == ')' || c == '(' {
        let mut j = i;
        while j < chars.len() && chars[j] == c {
            j += 1;
        }
        if j - i >= 2 {
            return Some((j - i, format!("{c}{c}")));
        }
        return None;
    }
    if c == '<' && chars.get(i + 1) == Some(&'3') {
        return Some((2, "<3".to_string()));
    }
    // Western: eyes, optional nose, mouth (repeated mouths collapse: `:)))` → `:)`).
    if matches!(c, ':' | ';' | '=') {
        let mut j = i + 1;
        let mut nose = None;
        if let Some(&n) = chars.get(j) {
            if n == '-' || n == '\'' {
                nose = Some(n);
                j += 1;
            }
        }
        let mouth = *chars.get(j)?;
        if !matches!(
            mouth,
            ')' | '(' | 'D' | 'P' | 'p' | 'O' | 'o' | '/' | '|' | '*' | '3' | ']' | '['
        ) {
            return None;
        }
        // `:D` etc. must not run into a word (`:Dinner`, `:post`).
        let mut k = j + 1;
        while k < chars.len() && chars[k] == mouth {
            k += 1;
        }
        if mouth.is_alphanumeric() && chars.get(k).is_some_and(|n| n.is_alphanumeric()) {
            return None;
        }
        let mut norm = String::new();
        norm.push(c);
        if let Some(n) = nose {
            norm.push(n);
        }
        norm.push(if mouth == 'p' { 'P' } else { mouth });
        return Some((k - i, norm));
    }
    None
}

/// Pushes `c` unless it would make a run of more than two equal letters.
fn push_squeezed(out: &mut String, c: char, squeeze: bool) {
    if squeeze && c.is_alphabetic() {
        let mut it = out.chars().rev();
        if it.next() == Some(c) && it.next() == Some(c) {
            return;
        }
    }
    out.push(c);
}

fn push_lower(out: &mut String, c: char, cfg: &TokenizerConfig) {
    if cfg.lowercase {
        for l in c.to_lowercase() {
            push_squeezed(out, l, cfg.squeeze_repeats);
        }
    } else {
        push_squeezed(out, c, cfg.squeeze_repeats);
    }
}

/// Python's `re.findall(r"\w+|[^\w\s]", text)` (after `text.lower()` with `lowercase`): `\w` is a
/// letter, a digit or `_` in the Unicode sense.
fn simple_split(text: &str, lowercase: bool) -> Vec<Token> {
    let lowered;
    let text = if lowercase {
        lowered = text.to_lowercase();
        lowered.as_str()
    } else {
        text
    };
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let mut tokens = Vec::new();
    let mut start: Option<usize> = None;
    for (i, c) in text.char_indices() {
        if is_word(c) {
            start.get_or_insert(i);
            continue;
        }
        if let Some(s) = start.take() {
            tokens.push(Token::new(&text[s..i], TokenKind::Word));
        }
        if !c.is_whitespace() {
            tokens.push(Token::new(c.to_string(), TokenKind::Punct));
        }
    }
    if let Some(s) = start {
        tokens.push(Token::new(&text[s..], TokenKind::Word));
    }
    tokens
}

/// Splits `text` into tokens.
pub fn tokenize(text: &str, cfg: &TokenizerConfig) -> Vec<Token> {
    if cfg.simple {
        return simple_split(text, cfg.lowercase);
    }
    if cfg.whitespace {
        return text
            .split_whitespace()
            .map(|w| {
                Token::new(
                    if cfg.lowercase { w.to_lowercase() } else { w.to_string() },
                    TokenKind::Word,
                )
            })
            .collect();
    }
    let chars: Vec<char> = text.chars().collect();
    let n = chars.len();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < n {
        let c = chars[i];
        if c.is_whitespace() || c.is_control() || is_emoji_modifier(c) {
            i += 1;
            continue;
        }
        // URLs: up to the next whitespace.
        if (c == 'h' || c == 'H' || c == 'w' || c == 'W')
            && (starts_with_ci(&chars, i, "http://")
                || starts_with_ci(&chars, i, "https://")
                || starts_with_ci(&chars, i, "www."))
        {
            let mut j = i;
            while j < n && !chars[j].is_whitespace() {
                j += 1;
            }
            match cfg.urls {
                Placeholder::Keep => {
                    let s: String = chars[i..j].iter().collect();
                    tokens.push(Token::new(
                        if cfg.lowercase { s.to_lowercase() } else { s },
                        TokenKind::Url,
                    ));
                }
                Placeholder::Replace => tokens.push(Token::new(URL_PLACEHOLDER, TokenKind::Url)),
                Placeholder::Drop => {}
            }
            i = j;
            continue;
        }
        // @mentions and #hashtags.
        if (c == '@' || c == '#') && chars.get(i + 1).is_some_and(|&d| is_word_char(d) || d == '_') {
            let mut j = i + 1;
            while j < n && (is_word_char(chars[j]) || chars[j] == '_') {
                j += 1;
            }
            if c == '@' {
                match cfg.mentions {
                    Placeholder::Keep => {
                        let mut s = String::new();
                        for &ch in &chars[i..j] {
                            push_lower(&mut s, ch, cfg);
                        }
                        tokens.push(Token::new(s, TokenKind::Mention));
                    }
                    Placeholder::Replace => tokens.push(Token::new(USER_PLACEHOLDER, TokenKind::Mention)),
                    Placeholder::Drop => {}
                }
            } else {
                let start = if cfg.hashtag_word { i + 1 } else { i };
                let mut s = String::new();
                for &ch in &chars[start..j] {
                    push_lower(&mut s, ch, cfg);
                }
                tokens.push(Token::new(s, TokenKind::Hashtag));
            }
            i = j;
            continue;
        }
        if let Some((len, norm)) = emoticon_at(&chars, i) {
            tokens.push(Token::new(norm, TokenKind::Emoticon));
            i += len;
            continue;
        }
        if is_emoji(c) {
            tokens.push(Token::new(c.to_string(), TokenKind::Emoji));
            i += 1;
            continue;
        }
        // Numbers: digits with inner `.` or `,` between digits.
        if c.is_ascii_digit() {
            let mut j = i;
            while j < n
                && (chars[j].is_ascii_digit()
                    || ((chars[j] == '.' || chars[j] == ',') && chars.get(j + 1).is_some_and(|d| d.is_ascii_digit())))
            {
                j += 1;
            }
            // A number glued to letters (`2day`, `got7`) is a word.
            if j < n && chars[j].is_alphabetic() {
                let (tok, end) = scan_word(&chars, i, cfg);
                tokens.push(tok);
                i = end;
                continue;
            }
            tokens.push(Token::new(chars[i..j].iter().collect::<String>(), TokenKind::Number));
            i = j;
            continue;
        }
        if c.is_alphanumeric() {
            let (tok, end) = scan_word(&chars, i, cfg);
            tokens.push(tok);
            i = end;
            continue;
        }
        // Punctuation and other symbols: a run of the same character is one token.
        let mut j = i + 1;
        while j < n && chars[j] == c {
            j += 1;
        }
        let run = if j - i > 3 { 3 } else { j - i };
        tokens.push(Token::new(
            std::iter::repeat_n(c, run).collect::<String>(),
            TokenKind::Punct,
        ));
        i = j;
    }
    tokens
}

/// A word: letters and digits, with single inner hyphens and apostrophes between them.
fn scan_word(chars: &[char], start: usize, cfg: &TokenizerConfig) -> (Token, usize) {
    let n = chars.len();
    let mut s = String::new();
    let mut j = start;
    while j < n {
        let c = chars[j];
        if is_word_char(c) {
            push_lower(&mut s, c, cfg);
            j += 1;
        } else if (c == '-' || is_apostrophe(c)) && !s.is_empty() && chars.get(j + 1).is_some_and(|&d| is_word_char(d))
        {
            s.push(if c == '-' { '-' } else { '\'' });
            j += 1;
        } else if is_emoji_modifier(c) && c != '\u{200D}' {
            // Combining marks used as decoration inside words are skipped.
            j += 1;
        } else {
            break;
        }
    }
    (Token::new(s, TokenKind::Word), j)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<String> {
        tokenize(s, &TokenizerConfig::default())
            .into_iter()
            .map(|t| t.text)
            .collect()
    }

    #[test]
    fn whitespace_mode_keeps_each_piece_whole() {
        let cfg = TokenizerConfig {
            whitespace: true,
            ..Default::default()
        };
        let toks: Vec<(String, TokenKind)> = tokenize("  «Привет» don't\t#Tag  :) ", &cfg)
            .into_iter()
            .map(|t| (t.text, t.kind))
            .collect();
        let words = ["«привет»", "don't", "#tag", ":)"];
        assert_eq!(toks, words.map(|w| (w.to_string(), TokenKind::Word)));
        assert!(tokenize(" \n ", &cfg).is_empty());
    }

    #[test]
    fn urls_mentions_hashtags() {
        assert_eq!(
            texts("@user see https://t.co/abc #Great day"),
            ["<user>", "see", "<url>", "great", "day"]
        );
        let keep = TokenizerConfig {
            urls: Placeholder::Keep,
            mentions: Placeholder::Drop,
            ..Default::default()
        };
        let toks: Vec<String> = tokenize("@Bob www.Example.com x", &keep)
            .into_iter()
            .map(|t| t.text)
            .collect();
        assert_eq!(toks, ["www.example.com", "x"]);
    }

    #[test]
    fn emoticons_and_emoji() {
        let toks = tokenize("хорошо)) плохо :( ок :-))) 😀👍🏽 <3", &TokenizerConfig::default());
        let kinds: Vec<(String, TokenKind)> = toks.into_iter().map(|t| (t.text, t.kind)).collect();
        assert_eq!(
            kinds,
            [
                ("хорошо".into(), TokenKind::Word),
                ("))".into(), TokenKind::Emoticon),
                ("плохо".into(), TokenKind::Word),
                (":(".into(), TokenKind::Emoticon),
                ("ок".into(), TokenKind::Word),
                (":-)".into(), TokenKind::Emoticon),
                ("😀".into(), TokenKind::Emoji),
                ("👍".into(), TokenKind::Emoji),
                ("<3".into(), TokenKind::Emoticon),
            ]
        );
    }

    #[test]
    fn words_with_hyphens_apostrophes_and_squeezing() {
        assert_eq!(
            texts("Уезжаааааай, кто-то don't!"),
            ["уезжаай", ",", "кто-то", "don't", "!"]
        );
        assert_eq!(texts("don’t -x- a--b"), ["don't", "-", "x", "-", "a", "--", "b"]);
        assert_eq!(texts("coool"), ["cool"]);
    }

    #[test]
    fn numbers() {
        assert_eq!(texts("3.14 и 1,000 2day"), ["3.14", "и", "1,000", "2day"]);
    }

    #[test]
    fn does_not_confuse_words_with_emoticons() {
        assert_eq!(texts("a:Dinner"), ["a", ":", "dinner"]);
        assert_eq!(texts("(see)"), ["(", "see", ")"]);
    }

    #[test]
    fn empty_and_whitespace() {
        assert!(texts("").is_empty());
        assert!(texts(" \t\r\n ").is_empty());
    }

    #[test]
    fn simple_split_is_the_fasttext_anchors_regex() {
        let cfg = TokenizerConfig {
            simple: true,
            ..TokenizerConfig::default()
        };
        let texts: Vec<String> = tokenize("@User Don't STOP!!! #love 3.5 не_знаю…  ", &cfg)
            .into_iter()
            .map(|t| t.text)
            .collect();
        assert_eq!(
            texts,
            [
                "@",
                "user",
                "don",
                "'",
                "t",
                "stop",
                "!",
                "!",
                "!",
                "#",
                "love",
                "3",
                ".",
                "5",
                "не_знаю",
                "…"
            ]
        );
        assert!(tokenize(" \t\n", &cfg).is_empty());
    }
}
