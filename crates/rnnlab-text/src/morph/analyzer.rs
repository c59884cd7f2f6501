//! pymorphy3's `MorphAnalyzer.parse` for Russian, unit by unit, in the same order and
//! with the same scores, so that the first parse (and so the lemma) is the one pymorphy3
//! gives. Each unit below names its pymorphy3 counterpart.

use std::collections::HashSet;

use super::dict::MorphDict;

/// Tags the shape analyzers produce, added to the table at load time.
pub const EXTRA_TAGS: &[&str] = &["UNKN", "LATN", "PNCT", "ROMN", "NUMB,intg", "NUMB,real", "ADVB"];

const INITIAL_LETTERS: &str = "АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЭЮЯ";
const INITIALS_PATTERNS: [&str; 2] = [
    "NOUN,anim,{g},Sgtm,Name,Fixd,Abbr,Init sing,{c}",
    "NOUN,anim,{g},Sgtm,Patr,Fixd,Abbr,Init sing,{c}",
];

/// The tags of the abbreviated first name and patronymic analyzers, in pymorphy's order.
pub fn initials_tags() -> Vec<String> {
    let mut out = Vec::new();
    for pattern in INITIALS_PATTERNS {
        for g in ["masc", "femn"] {
            for c in ["nomn", "gent", "datv", "accs", "ablt", "loct"] {
                out.push(pattern.replace("{g}", g).replace("{c}", c));
            }
        }
    }
    out
}

const PARTICLES_AFTER_HYPHEN: &[&str] = &["-то", "-ка", "-таки", "-де", "-тко", "-тка", "-с", "-ста"];

const KNOWN_PREFIXES: &[&str] = &[
    "авиа",
    "авто",
    "аква",
    "анти",
    "анти-",
    "антропо",
    "архи",
    "арт",
    "арт-",
    "астро",
    "аудио",
    "аэро",
    "без",
    "бес",
    "био",
    "вело",
    "взаимо",
    "вне",
    "внутри",
    "видео",
    "вице-",
    "вперед",
    "впереди",
    "гекто",
    "гелио",
    "гео",
    "гетеро",
    "гига",
    "гигро",
    "гипер",
    "гипо",
    "гомо",
    "дву",
    "двух",
    "де",
    "дез",
    "дека",
    "деци",
    "дис",
    "до",
    "евро",
    "за",
    "зоо",
    "интер",
    "инфра",
    "квази",
    "квази-",
    "кило",
    "кино",
    "контр",
    "контр-",
    "космо",
    "космо-",
    "крипто",
    "лейб-",
    "лже",
    "лже-",
    "макро",
    "макси",
    "макси-",
    "мало",
    "меж",
    "медиа",
    "медиа-",
    "мега",
    "мета",
    "мета-",
    "метео",
    "метро",
    "микро",
    "милли",
    "мини",
    "мини-",
    "моно",
    "мото",
    "много",
    "мульти",
    "нано",
    "нарко",
    "не",
    "небез",
    "недо",
    "нейро",
    "нео",
    "низко",
    "обер-",
    "обще",
    "одно",
    "около",
    "орто",
    "палео",
    "пан",
    "пара",
    "пента",
    "пере",
    "пиро",
    "поли",
    "полу",
    "после",
    "пост",
    "пост-",
    "порно",
    "пра",
    "пра-",
    "пред",
    "пресс-",
    "противо",
    "противо-",
    "прото",
    "псевдо",
    "псевдо-",
    "радио",
    "разно",
    "ре",
    "ретро",
    "ретро-",
    "само",
    "санти",
    "сверх",
    "сверх-",
    "спец",
    "суб",
    "супер",
    "супер-",
    "супра",
    "теле",
    "тетра",
    "топ-",
    "транс",
    "транс-",
    "ультра",
    "унтер-",
    "штаб-",
    "экзо",
    "эко",
    "эндо",
    "эконом-",
    "экс",
    "экс-",
    "экстра",
    "экстра-",
    "электро",
    "энерго",
    "этно",
];

/// "ё" is sometimes written as "е", not the other way round.
const CHAR_SUBSTITUTES: &[(char, char)] = &[('е', 'ё')];

/// How a parse was found; only what deduplication needs is kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Origin {
    /// A dictionary paradigm (also the "fake dictionary" of the suffix predictor).
    Paradigm(u16),
    /// The hyphenated-words analyzer keys its parses on the right part's history.
    Hyphenated(String),
    /// Shape analyzers, initials, adverbs, UNKN.
    Other,
}

/// One analysis of a word, like pymorphy's `Parse` (without the inflection machinery).
#[derive(Debug, Clone)]
pub struct Parse {
    pub word: String,
    pub tag: u32,
    pub normal_form: String,
    pub score: f64,
    origin: Origin,
}

/// pymorphy's `seen_parses`: (word, tag, paradigm) keys, shared by the units of one call.
#[derive(Default)]
struct Seen {
    keys: HashSet<(String, u32, Origin)>,
    /// The adverb analyzer adds a whole parse, which no key equals; it still makes the set
    /// non-empty, and that is what the UNKN analyzer asks.
    other: bool,
}

impl Seen {
    fn is_empty(&self) -> bool {
        self.keys.is_empty() && !self.other
    }

    /// pymorphy's `add_parse_if_not_seen`.
    fn add(&mut self, parse: Parse, out: &mut Vec<Parse>) {
        let key = (parse.word.clone(), parse.tag, parse.origin.clone());
        if self.keys.insert(key) {
            out.push(parse);
        }
    }
}

fn py_len(s: &str) -> usize {
    s.chars().count()
}

/// Python's `s[:-i]` and `s[-i:]` for `i >= 1`.
fn split_from_end(s: &str, i: usize) -> (&str, &str) {
    let n = py_len(s);
    let k = n.saturating_sub(i);
    let at = s.char_indices().nth(k).map(|(b, _)| b).unwrap_or(s.len());
    s.split_at(at)
}

fn split_at_char(s: &str, k: usize) -> (&str, &str) {
    let at = s.char_indices().nth(k).map(|(b, _)| b).unwrap_or(s.len());
    s.split_at(at)
}

fn is_latin_letter(c: char) -> bool {
    matches!(c as u32,
        0x41..=0x5A | 0x61..=0x7A | 0xAA | 0xBA | 0xC0..=0xD6 | 0xD8..=0xF6 | 0xF8..=0x24F | 0x250..=0x2AF
        | 0x1D00..=0x1D25 | 0x1E00..=0x1EFF | 0x2C60..=0x2C7F | 0xA720..=0xA7FF | 0xFF21..=0xFF3A | 0xFF41..=0xFF5A)
}

/// pymorphy's `is_latin`: some letters, all of them Latin.
fn is_latin(word: &str) -> bool {
    word.chars().any(char::is_alphabetic) && word.chars().filter(|c| c.is_alphabetic()).all(is_latin_letter)
}

/// Unicode general category P* (punctuation), for the characters that occur in text.
fn is_punct_char(c: char) -> bool {
    matches!(c as u32,
        0x21..=0x23 | 0x25..=0x2A | 0x2C..=0x2F | 0x3A | 0x3B | 0x3F | 0x40 | 0x5B..=0x5D | 0x5F | 0x7B | 0x7D
        | 0xA1 | 0xA7 | 0xAB | 0xB6 | 0xB7 | 0xBB | 0xBF | 0x37E | 0x387
        | 0x2010..=0x2027 | 0x2030..=0x2043 | 0x2045..=0x2051 | 0x2053..=0x205E
        | 0x2E00..=0x2E4F | 0x3001..=0x3003 | 0x3008..=0x3011 | 0x3014..=0x301F | 0xFE10..=0xFE19
        | 0xFE30..=0xFE52 | 0xFE54..=0xFE61 | 0xFF01..=0xFF03 | 0xFF05..=0xFF0A | 0xFF0C..=0xFF0F)
}

/// pymorphy's `is_punctuation`.
fn is_punctuation(word: &str) -> bool {
    !word.is_empty()
        && !word.chars().all(char::is_whitespace)
        && word.chars().filter(|c| !c.is_whitespace()).all(is_punct_char)
}

/// pymorphy's Roman-number regex `M{0,4}(CM|CD|D?C{0,3})(XC|XL|L?X{0,3})(IX|IV|V?I{0,3})$`.
fn is_roman_number(word: &str) -> bool {
    if word.is_empty() {
        return false;
    }
    let s: Vec<char> = word.chars().map(|c| c.to_ascii_uppercase()).collect();
    let mut i = 0;
    let take = |i: &mut usize, c: char, max: usize| {
        let mut k = 0;
        while k < max && s.get(*i) == Some(&c) {
            *i += 1;
            k += 1;
        }
    };
    let digit = |i: &mut usize, one: char, five: char, ten: char| {
        if s.get(*i) == Some(&one) && (s.get(*i + 1) == Some(&ten) || s.get(*i + 1) == Some(&five)) {
            *i += 2;
            return;
        }
        if s.get(*i) == Some(&five) {
            *i += 1;
        }
        take(i, one, 3);
    };
    take(&mut i, 'M', 4);
    digit(&mut i, 'C', 'D', 'M');
    digit(&mut i, 'X', 'L', 'C');
    digit(&mut i, 'I', 'V', 'X');
    i == s.len()
}

/// Python's `int(word)` / `float(word.replace(',', '.'))` acceptance, for ASCII input.
fn number_shape(word: &str) -> Option<&'static str> {
    let w = word.trim();
    let digits = w.strip_prefix(['+', '-']).unwrap_or(w);
    let int_ok = !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit() || c == '_')
        && !digits.starts_with('_')
        && !digits.ends_with('_')
        && !digits.contains("__");
    if int_ok {
        return Some("NUMB,intg");
    }
    let f = w.replace(',', ".").replace('_', "");
    if !f.is_empty() && f.parse::<f64>().is_ok() {
        return Some("NUMB,real");
    }
    None
}

/// A Russian morphological analyzer with pymorphy3's semantics.
pub struct Analyzer {
    dict: MorphDict,
    tag_advb: u32,
    tag_unkn: u32,
}

impl Analyzer {
    pub fn new(dict: MorphDict) -> Self {
        let tag_advb = dict.tags.id("ADVB").expect("ADVB interned at load");
        let tag_unkn = dict.tags.id("UNKN").expect("UNKN interned at load");
        Analyzer {
            dict,
            tag_advb,
            tag_unkn,
        }
    }

    pub fn dict(&self) -> &MorphDict {
        &self.dict
    }

    /// The normal form of the most probable parse (pymorphy3's `parse(word)[0].normal_form`).
    pub fn lemma(&self, word: &str) -> String {
        if word.is_empty() {
            return String::new();
        }
        self.parse(word)
            .into_iter()
            .next()
            .map(|p| p.normal_form)
            .unwrap_or_else(|| word.to_lowercase())
    }

    /// The tag string of a parse.
    pub fn tag_text(&self, tag: u32) -> &str {
        &self.dict.tags.get(tag).text
    }

    /// All parses, most probable first (pymorphy3's `MorphAnalyzer.parse`).
    pub fn parse(&self, word: &str) -> Vec<Parse> {
        self.parse_depth(word, 0)
    }

    fn parse_depth(&self, word: &str, depth: usize) -> Vec<Parse> {
        let lower = word.to_lowercase();
        let mut res: Vec<Parse> = Vec::new();
        let mut seen = Seen::default();
        // (unit, is_terminal) in pymorphy3's DEFAULT_UNITS order for Russian.
        let units: [(Unit, bool); 14] = [
            (Unit::Dictionary, false),
            (Unit::FirstNameInitial, false),
            (Unit::PatronymicInitial, true),
            (Unit::Number, true),
            (Unit::Punctuation, true),
            (Unit::Roman, false),
            (Unit::Latin, true),
            (Unit::HyphenParticle, true),
            (Unit::HyphenAdverb, true),
            (Unit::HyphenatedWords, true),
            (Unit::KnownPrefix, true),
            (Unit::UnknownPrefix, false),
            (Unit::KnownSuffix, true),
            (Unit::Unknown, true),
        ];
        for (unit, terminal) in units {
            // Deep recursion only happens on pathological inputs (many prefixes and
            // hyphens); past a depth the predictors are skipped.
            if depth > 6 && !matches!(unit, Unit::Dictionary | Unit::Unknown) {
                continue;
            }
            let found = self.run_unit(unit, word, &lower, &mut seen, depth);
            res.extend(found);
            if terminal && !res.is_empty() {
                break;
            }
        }
        self.apply_probabilities(&lower, res)
    }

    /// pymorphy3's `ProbabilityEstimator.apply_to_parses`.
    fn apply_probabilities(&self, lower: &str, mut parses: Vec<Parse>) -> Vec<Parse> {
        if parses.is_empty() {
            return parses;
        }
        let probs: Vec<f64> = parses.iter().map(|p| self.dict.prob(lower, p.tag)).collect();
        if probs.iter().sum::<f64>() == 0.0 {
            let total: f64 = parses.iter().map(|p| p.score).sum();
            if total != 0.0 {
                let k = 1.0 / total;
                for p in &mut parses {
                    p.score *= k;
                }
            }
            return parses;
        }
        for (p, prob) in parses.iter_mut().zip(probs) {
            p.score = prob;
        }
        // Stable, like Python's sorted(..., reverse=True).
        parses.sort_by(|a, b| b.score.partial_cmp(&a.score).unwrap_or(std::cmp::Ordering::Equal));
        parses
    }

    fn run_unit(&self, unit: Unit, word: &str, lower: &str, seen: &mut Seen, depth: usize) -> Vec<Parse> {
        match unit {
            Unit::Dictionary => self.dictionary(lower),
            Unit::FirstNameInitial => self.initials(word, lower, 0),
            Unit::PatronymicInitial => self.initials(word, lower, 1),
            Unit::Number => self.shape(word, lower, number_shape(word)),
            Unit::Punctuation => self.shape(word, lower, is_punctuation(word).then_some("PNCT")),
            Unit::Roman => self.shape(word, lower, is_roman_number(word).then_some("ROMN")),
            Unit::Latin => self.shape(word, lower, is_latin(word).then_some("LATN")),
            Unit::HyphenParticle => self.hyphen_particle(lower, seen, depth),
            Unit::HyphenAdverb => self.hyphen_adverb(lower, seen, depth),
            Unit::HyphenatedWords => self.hyphenated_words(lower, depth),
            Unit::KnownPrefix => self.known_prefix(lower, seen, depth),
            Unit::UnknownPrefix => self.unknown_prefix(lower, seen),
            Unit::KnownSuffix => self.known_suffix(word, lower, seen),
            Unit::Unknown => {
                if seen.is_empty() {
                    vec![Parse {
                        word: lower.to_string(),
                        tag: self.tag_unkn,
                        normal_form: lower.to_string(),
                        score: 1.0,
                        origin: Origin::Other,
                    }]
                } else {
                    Vec::new()
                }
            }
        }
    }

    /// `DictionaryAnalyzer`: the word (or its `е`→`ё` variants) in the dictionary.
    fn dictionary(&self, lower: &str) -> Vec<Parse> {
        let mut res = Vec::new();
        for (fixed_word, payloads) in self.dict.words.similar_items(lower, CHAR_SUBSTITUTES) {
            for payload in payloads {
                if payload.len() < 4 {
                    continue;
                }
                let para_id = u16::from_be_bytes([payload[0], payload[1]]);
                let idx = u16::from_be_bytes([payload[2], payload[3]]);
                let (Some(tag), Some(normal_form)) = (
                    self.dict.tag_of(para_id, idx),
                    self.dict.normal_form(para_id, idx, &fixed_word),
                ) else {
                    continue;
                };
                res.push(Parse {
                    word: fixed_word.clone(),
                    tag,
                    normal_form,
                    score: 1.0,
                    origin: Origin::Paradigm(para_id),
                });
            }
        }
        res
    }

    /// `AbbreviatedFirstNameAnalyzer` / `AbbreviatedPatronymicAnalyzer`: a single capital.
    fn initials(&self, word: &str, lower: &str, kind: usize) -> Vec<Parse> {
        let mut chars = word.chars();
        let (Some(c), None) = (chars.next(), chars.next()) else {
            return Vec::new();
        };
        if !INITIAL_LETTERS.contains(c) {
            return Vec::new();
        }
        initials_tags()
            .iter()
            .skip(kind * 12)
            .take(12)
            .filter_map(|t| self.dict.tags.id(t))
            .map(|tag| Parse {
                word: lower.to_string(),
                tag,
                normal_form: lower.to_string(),
                score: 0.1,
                origin: Origin::Other,
            })
            .collect()
    }

    /// The shape analyzers (numbers, punctuation, Roman numbers, Latin words).
    fn shape(&self, _word: &str, lower: &str, tag: Option<&str>) -> Vec<Parse> {
        let Some(tag) = tag.and_then(|t| self.dict.tags.id(t)) else {
            return Vec::new();
        };
        vec![Parse {
            word: lower.to_string(),
            tag,
            normal_form: lower.to_string(),
            score: 0.9,
            origin: Origin::Other,
        }]
    }

    /// `HyphenSeparatedParticleAnalyzer`: `смотри-ка` → `смотри` + `-ка`.
    fn hyphen_particle(&self, lower: &str, seen: &mut Seen, depth: usize) -> Vec<Parse> {
        let mut result = Vec::new();
        if !lower.contains('-') {
            return result;
        }
        for particle in PARTICLES_AFTER_HYPHEN {
            let Some(unsuffixed) = lower.strip_suffix(particle) else {
                continue;
            };
            if unsuffixed.is_empty() {
                continue;
            }
            for p in self.parse_depth(unsuffixed, depth + 1) {
                let parse = Parse {
                    word: format!("{}{particle}", p.word),
                    tag: p.tag,
                    normal_form: format!("{}{particle}", p.normal_form),
                    score: p.score * 0.9,
                    origin: p.origin,
                };
                seen.add(parse, &mut result);
            }
            break;
        }
        result
    }

    /// `HyphenAdverbAnalyzer`: `по-западному` when `западному` can be ADJF,sing,datv.
    fn hyphen_adverb(&self, lower: &str, seen: &mut Seen, depth: usize) -> Vec<Parse> {
        if py_len(lower) < 5 || !lower.starts_with("по-") {
            return Vec::new();
        }
        let rest = &lower["по-".len()..];
        let ok = self
            .parse_depth(rest, depth + 1)
            .iter()
            .any(|p| self.dict.tags.has_all(p.tag, &["ADJF", "sing", "datv"]));
        if !ok {
            return Vec::new();
        }
        seen.other = true;
        vec![Parse {
            word: lower.to_string(),
            tag: self.tag_advb,
            normal_form: lower.to_string(),
            score: 0.7,
            origin: Origin::Other,
        }]
    }

    /// `HyphenatedWordsAnalyzer`: `человек-гора` (both parts inflect) and
    /// `интернет-магазин` (the left part is fixed).
    fn hyphenated_words(&self, lower: &str, depth: usize) -> Vec<Parse> {
        let mut result = Vec::new();
        if !lower.contains('-')
            || lower.trim_matches('-') != lower
            || lower.matches('-').count() != 1
            || KNOWN_PREFIXES.iter().any(|p| lower.starts_with(p))
        {
            return result;
        }
        let Some((left, right)) = lower.split_once('-') else {
            return result;
        };
        let left_parses = self.parse_depth(left, depth + 1);
        let right_parses = self.parse_depth(right, depth + 1);
        let tags = &self.dict.tags;
        for lp in &left_parses {
            if !tags.get(lp.tag).known_pos {
                continue;
            }
            for rp in &right_parses {
                if tags.get(lp.tag).features != tags.get(rp.tag).features {
                    continue;
                }
                result.push(Parse {
                    word: format!("{}-{}", lp.word, rp.word),
                    tag: lp.tag,
                    normal_form: format!("{}-{}", lp.normal_form, rp.normal_form),
                    score: lp.score * 0.75,
                    origin: Origin::Hyphenated(format!("{:?}", rp.origin)),
                });
            }
        }
        for rp in &right_parses {
            if !tags.get(rp.tag).known_pos {
                continue;
            }
            result.push(Parse {
                word: format!("{left}-{}", rp.word),
                tag: rp.tag,
                normal_form: format!("{left}-{}", rp.normal_form),
                score: rp.score * 0.75,
                origin: Origin::Hyphenated(format!("{:?}", rp.origin)),
            });
        }
        result
    }

    /// `KnownPrefixAnalyzer`: `псевдокошка` → `псевдо` + `кошка`, longest prefix first.
    fn known_prefix(&self, lower: &str, seen: &mut Seen, depth: usize) -> Vec<Parse> {
        let mut result = Vec::new();
        let mut prefixes: Vec<&str> = KNOWN_PREFIXES
            .iter()
            .copied()
            .filter(|p| lower.starts_with(p))
            .collect();
        prefixes.sort_by_key(|p| std::cmp::Reverse(py_len(p)));
        for prefix in prefixes {
            let rest = &lower[prefix.len()..];
            if py_len(rest) < 3 {
                continue;
            }
            for p in self.parse_depth(rest, depth + 1) {
                if !self.dict.tags.get(p.tag).productive {
                    continue;
                }
                let parse = Parse {
                    word: format!("{prefix}{}", p.word),
                    tag: p.tag,
                    normal_form: format!("{prefix}{}", p.normal_form),
                    score: p.score * 0.75,
                    origin: p.origin,
                };
                seen.add(parse, &mut result);
            }
        }
        result
    }

    /// `UnknownPrefixAnalyzer`: `байткод` → `байт` + `код` (prefixes of 1 to 5 letters,
    /// at least 3 letters left, the rest found in the dictionary).
    fn unknown_prefix(&self, lower: &str, seen: &mut Seen) -> Vec<Parse> {
        let mut result = Vec::new();
        let n = py_len(lower);
        let max_split = 5.min(n.saturating_sub(3));
        for i in 1..=max_split {
            let (prefix, rest) = split_at_char(lower, i);
            for p in self.dictionary(rest) {
                if !self.dict.tags.get(p.tag).productive {
                    continue;
                }
                let parse = Parse {
                    word: format!("{prefix}{}", p.word),
                    tag: p.tag,
                    normal_form: format!("{prefix}{}", p.normal_form),
                    score: p.score * 0.5,
                    origin: p.origin,
                };
                seen.add(parse, &mut result);
            }
        }
        result
    }

    /// `KnownSuffixAnalyzer`: parse by the endings of known words (`бутявкать` → `...вкать`).
    fn known_suffix(&self, word: &str, lower: &str, seen: &mut Seen) -> Vec<Parse> {
        let mut result: Vec<(u32, Parse, usize)> = Vec::new();
        if py_len(word) < 4 {
            return Vec::new();
        }
        let prefixes = &self.dict.paradigm_prefixes;
        let mut total_counts = vec![1u64; prefixes.len()];
        for prefix_id in (0..prefixes.len()).rev() {
            if !lower.starts_with(prefixes[prefix_id].as_str()) {
                continue;
            }
            let Some(suffixes_dawg) = self.dict.prediction_suffixes.get(prefix_id) else {
                continue;
            };
            for i in (1..=self.dict.max_suffix_length).rev() {
                let (word_start, word_end) = split_from_end(lower, i);
                for (fixed_suffix, payloads) in suffixes_dawg.similar_items(word_end, CHAR_SUBSTITUTES) {
                    let fixed_word = format!("{word_start}{fixed_suffix}");
                    for payload in payloads {
                        let (cnt, para_id, idx) = match payload.len() {
                            8 => (
                                u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]]),
                                u16::from_be_bytes([payload[4], payload[5]]),
                                u16::from_be_bytes([payload[6], payload[7]]),
                            ),
                            6 => (
                                u16::from_be_bytes([payload[0], payload[1]]) as u32,
                                u16::from_be_bytes([payload[2], payload[3]]),
                                u16::from_be_bytes([payload[4], payload[5]]),
                            ),
                            _ => continue,
                        };
                        let Some(tag) = self.dict.tag_of(para_id, idx) else {
                            continue;
                        };
                        if !self.dict.tags.get(tag).productive {
                            continue;
                        }
                        total_counts[prefix_id] += cnt as u64;
                        let key = (fixed_word.clone(), tag, Origin::Paradigm(para_id));
                        if !seen.keys.insert(key) {
                            continue;
                        }
                        let Some(normal_form) = self.dict.normal_form(para_id, idx, &fixed_word) else {
                            continue;
                        };
                        let parse = Parse {
                            word: fixed_word.clone(),
                            tag,
                            normal_form,
                            score: 0.0,
                            origin: Origin::Paradigm(para_id),
                        };
                        result.push((cnt, parse, prefix_id));
                    }
                }
                if total_counts[prefix_id] > 1 {
                    break;
                }
            }
        }
        let mut out: Vec<Parse> = result
            .into_iter()
            .map(|(cnt, mut p, prefix_id)| {
                p.score = cnt as f64 / total_counts[prefix_id] as f64 * 0.5;
                p
            })
            .collect();
        out.sort_by(|a, b| b.score.partial_cmp(&a.score).unwrap_or(std::cmp::Ordering::Equal));
        out
    }
}

#[derive(Debug, Clone, Copy)]
enum Unit {
    Dictionary,
    FirstNameInitial,
    PatronymicInitial,
    Number,
    Punctuation,
    Roman,
    Latin,
    HyphenParticle,
    HyphenAdverb,
    HyphenatedWords,
    KnownPrefix,
    UnknownPrefix,
    KnownSuffix,
    Unknown,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roman_numbers() {
        for ok in ["XIV", "mmxx", "iv", "MCMXC", "I"] {
            assert!(is_roman_number(ok), "{ok}");
        }
        for bad in ["", "IIII", "VV", "abc", "XM"] {
            assert!(!is_roman_number(bad), "{bad}");
        }
    }

    #[test]
    fn shapes() {
        assert_eq!(number_shape("12"), Some("NUMB,intg"));
        assert_eq!(number_shape("1,5"), Some("NUMB,real"));
        assert_eq!(number_shape("12a"), None);
        assert!(is_latin("pdf") && is_latin("123-foo") && !is_latin("123") && !is_latin("кот"));
        assert!(is_punctuation("..!") && is_punctuation("«»") && !is_punctuation("$") && !is_punctuation(" "));
    }

    #[test]
    fn python_slices() {
        assert_eq!(split_from_end("кошка", 2), ("кош", "ка"));
        assert_eq!(split_from_end("кот", 5), ("", "кот"));
        assert_eq!(split_at_char("байткод", 4), ("байт", "код"));
    }
}
