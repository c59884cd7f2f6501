//! Loading a pymorphy2/pymorphy3 dictionary directory (format 2.4: `meta.json`,
//! `gramtab-opencorpora-int.json`, `suffixes.json`, `paradigms.array`, `words.dawg`,
//! `prediction-suffixes-N.dawg`, `p_t_given_w.intdawg`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::dawg::{BytesDawg, IntDawg};
use crate::Error;

/// Parts of speech; a tag whose first grammeme is not one of these is "unknown"
/// (LATN, NUMB, PNCT, UNKN, ...).
const PARTS_OF_SPEECH: &[&str] = &[
    "NOUN", "ADJF", "ADJS", "COMP", "VERB", "INFN", "PRTF", "PRTS", "GRND", "NUMR", "ADVB", "NPRO", "PRED", "PREP",
    "CONJ", "PRCL", "INTJ",
];
const NON_PRODUCTIVE: &[&str] = &["NUMR", "NPRO", "PRED", "PREP", "CONJ", "PRCL", "INTJ", "Apro"];
const FEATURE_GRAMMEMES: &[&str] = &[
    "sing", "plur", "nomn", "gent", "datv", "accs", "ablt", "loct", "voct", "gen1", "gen2", "acc2", "loc1", "loc2",
    "1per", "2per", "3per", "pres", "past", "futr",
];

/// A set of grammemes as a bit set over the dictionary's grammeme numbering.
pub type Grammemes = [u64; 4];

fn set_bit(g: &mut Grammemes, i: usize) {
    g[i / 64] |= 1 << (i % 64);
}

fn has_bit(g: &Grammemes, i: usize) -> bool {
    g[i / 64] & (1 << (i % 64)) != 0
}

/// One tag: its string (as pymorphy prints it) and what the analyzers ask of it.
#[derive(Debug, Clone)]
pub struct TagInfo {
    pub text: String,
    pub grammemes: Grammemes,
    pub productive: bool,
    pub known_pos: bool,
    /// Grammemes compared by the hyphenated-words analyzer (POS, number, case, person,
    /// tense; `gen1`/`loc1` read as `gent`/`loct`).
    pub features: Grammemes,
}

/// All tags the analyzer can produce, interned: a tag is a `u32` index.
#[derive(Debug, Default)]
pub struct TagTable {
    pub tags: Vec<TagInfo>,
    by_text: HashMap<String, u32>,
    grammeme_ids: HashMap<String, usize>,
}

impl TagTable {
    fn grammeme_id(&mut self, g: &str) -> Result<usize, Error> {
        if let Some(&i) = self.grammeme_ids.get(g) {
            return Ok(i);
        }
        let i = self.grammeme_ids.len();
        if i >= 256 {
            return Err(Error::Dictionary("more than 256 distinct grammemes".into()));
        }
        self.grammeme_ids.insert(g.to_string(), i);
        Ok(i)
    }

    /// Interns a tag string such as `NOUN,anim,masc sing,nomn`.
    pub fn intern(&mut self, text: &str) -> Result<u32, Error> {
        if let Some(&id) = self.by_text.get(text) {
            return Ok(id);
        }
        let parts: Vec<&str> = text.split([',', ' ']).filter(|s| !s.is_empty()).collect();
        let mut grammemes = [0u64; 4];
        let mut features = [0u64; 4];
        for p in &parts {
            let i = self.grammeme_id(p)?;
            set_bit(&mut grammemes, i);
            let feature = match *p {
                "gen1" => Some("gent"),
                "loc1" => Some("loct"),
                g if FEATURE_GRAMMEMES.contains(&g) || PARTS_OF_SPEECH.contains(&g) => Some(g),
                _ => None,
            };
            if let Some(f) = feature {
                let fi = self.grammeme_id(f)?;
                set_bit(&mut features, fi);
            }
        }
        let productive = !parts.iter().any(|p| NON_PRODUCTIVE.contains(p));
        let known_pos = parts.first().is_some_and(|p| PARTS_OF_SPEECH.contains(p));
        let id = self.tags.len() as u32;
        self.tags.push(TagInfo {
            text: text.to_string(),
            grammemes,
            productive,
            known_pos,
            features,
        });
        self.by_text.insert(text.to_string(), id);
        Ok(id)
    }

    pub fn get(&self, id: u32) -> &TagInfo {
        &self.tags[id as usize]
    }

    pub fn id(&self, text: &str) -> Option<u32> {
        self.by_text.get(text).copied()
    }

    /// Whether tag `id` has every grammeme in `names`.
    pub fn has_all(&self, id: u32, names: &[&str]) -> bool {
        let tag = self.get(id);
        names
            .iter()
            .all(|n| self.grammeme_ids.get(*n).is_some_and(|&i| has_bit(&tag.grammemes, i)))
    }
}

/// A loaded dictionary.
#[derive(Debug)]
pub struct MorphDict {
    pub dir: PathBuf,
    /// `source_revision` and `format_version` from `meta.json`, for reports.
    pub version: String,
    pub tags: TagTable,
    /// Number of tags from the gramtab (the rest were added for the shape analyzers).
    pub gramtab_len: usize,
    pub suffixes: Vec<String>,
    pub paradigms: Vec<Vec<u16>>,
    pub paradigm_prefixes: Vec<String>,
    pub max_suffix_length: usize,
    pub words: BytesDawg,
    pub prediction_suffixes: Vec<BytesDawg>,
    pub p_t_given_w: Option<IntDawg>,
}

fn read_json(path: &Path) -> Result<serde_json::Value, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    serde_json::from_str(&text).map_err(|e| Error::Dictionary(format!("{}: {e}", path.display())))
}

fn string_list(value: &serde_json::Value, path: &Path) -> Result<Vec<String>, Error> {
    value
        .as_array()
        .ok_or_else(|| Error::Dictionary(format!("{}: expected a JSON list", path.display())))?
        .iter()
        .map(|v| {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| Error::Dictionary(format!("{}: expected strings", path.display())))
        })
        .collect()
}

/// `meta.json` is a list of `[key, value]` pairs in pymorphy2's format (a map in some builds).
fn meta_map(meta: &serde_json::Value) -> HashMap<String, serde_json::Value> {
    let mut out = HashMap::new();
    if let Some(list) = meta.as_array() {
        for pair in list {
            if let (Some(k), Some(v)) = (pair.get(0).and_then(|k| k.as_str()), pair.get(1)) {
                out.insert(k.to_string(), v.clone());
            }
        }
    } else if let Some(obj) = meta.as_object() {
        for (k, v) in obj {
            out.insert(k.clone(), v.clone());
        }
    }
    out
}

fn load_paradigms(path: &Path) -> Result<Vec<Vec<u16>>, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    let bad = || Error::Dictionary(format!("{}: truncated paradigms file", path.display()));
    let u16_at = |at: usize| -> Result<u16, Error> {
        bytes
            .get(at..at + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .ok_or_else(bad)
    };
    let count = u16_at(0)? as usize;
    let mut at = 2;
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let len = u16_at(at)? as usize;
        at += 2;
        let mut para = Vec::with_capacity(len);
        for k in 0..len {
            para.push(u16_at(at + 2 * k)?);
        }
        at += 2 * len;
        out.push(para);
    }
    Ok(out)
}

impl MorphDict {
    /// Loads a pymorphy2/pymorphy3 dictionary directory (the `data` folder of the
    /// `pymorphy3-dicts-ru` package).
    pub fn load(dir: &Path) -> Result<Self, Error> {
        if !dir.join("words.dawg").is_file() {
            return Err(Error::Dictionary(format!(
                "{}: not a pymorphy dictionary directory (no words.dawg)",
                dir.display()
            )));
        }
        let f = |name: &str| dir.join(name);
        let meta = meta_map(&read_json(&f("meta.json"))?);
        let format = meta.get("format_version").and_then(|v| v.as_str()).unwrap_or("?");
        let revision = meta
            .get("source_revision")
            .map(|v| v.to_string().trim_matches('"').to_string())
            .unwrap_or_default();
        let options = meta.get("compile_options").or_else(|| meta.get("prediction_options"));
        let max_suffix_length = options
            .and_then(|o| o.get("max_suffix_length"))
            .and_then(|v| v.as_u64())
            .unwrap_or(5) as usize;
        let paradigm_prefixes = match options.and_then(|o| o.get("paradigm_prefixes")) {
            Some(v) => string_list(v, &f("meta.json"))?,
            None => string_list(&read_json(&f("paradigm-prefixes.json"))?, &f("paradigm-prefixes.json"))?,
        };

        let gramtab_path = f("gramtab-opencorpora-int.json");
        let gramtab = string_list(&read_json(&gramtab_path)?, &gramtab_path)?;
        let mut tags = TagTable::default();
        for t in &gramtab {
            tags.intern(t)?;
        }
        let gramtab_len = tags.tags.len();
        for extra in super::analyzer::EXTRA_TAGS {
            tags.intern(extra)?;
        }
        for t in super::analyzer::initials_tags() {
            tags.intern(&t)?;
        }

        let suffixes_path = f("suffixes.json");
        let suffixes = string_list(&read_json(&suffixes_path)?, &suffixes_path)?;
        let paradigms = load_paradigms(&f("paradigms.array"))?;
        let words = BytesDawg::load(&f("words.dawg"))?;
        let mut prediction_suffixes = Vec::new();
        for i in 0..paradigm_prefixes.len() {
            prediction_suffixes.push(BytesDawg::load(&f(&format!("prediction-suffixes-{i}.dawg")))?);
        }
        let p_path = f("p_t_given_w.intdawg");
        let p_t_given_w = if p_path.is_file() {
            Some(IntDawg::load(&p_path)?)
        } else {
            None
        };
        Ok(MorphDict {
            dir: dir.to_path_buf(),
            version: format!("format {format}, OpenCorpora revision {revision}"),
            tags,
            gramtab_len,
            suffixes,
            paradigms,
            paradigm_prefixes,
            max_suffix_length,
            words,
            prediction_suffixes,
            p_t_given_w,
        })
    }

    fn paradigm(&self, para_id: u16) -> Option<&[u16]> {
        self.paradigms.get(para_id as usize).map(Vec::as_slice)
    }

    /// The tag of form `idx` of paradigm `para_id`.
    pub fn tag_of(&self, para_id: u16, idx: u16) -> Option<u32> {
        let p = self.paradigm(para_id)?;
        let n = p.len() / 3;
        let tag = *p.get(n + idx as usize)? as usize;
        (tag < self.gramtab_len).then_some(tag as u32)
    }

    /// pymorphy's `build_normal_form`: the dictionary form of `fixed_word`, which is form
    /// `idx` of paradigm `para_id`.
    pub fn normal_form(&self, para_id: u16, idx: u16, fixed_word: &str) -> Option<String> {
        if idx == 0 {
            return Some(fixed_word.to_string());
        }
        let p = self.paradigm(para_id)?;
        let n = p.len() / 3;
        let prefix = self.paradigm_prefixes.get(*p.get(2 * n + idx as usize)? as usize)?;
        let suffix = self.suffixes.get(*p.get(idx as usize)? as usize)?;
        let chars: Vec<char> = fixed_word.chars().collect();
        let start = prefix.chars().count();
        let end = chars.len() as isize - suffix.chars().count() as isize;
        let stem: String = if start as isize <= end {
            chars[start..end as usize].iter().collect()
        } else {
            String::new()
        };
        let normal_prefix = self.paradigm_prefixes.get(*p.get(2 * n)? as usize)?;
        let normal_suffix = self.suffixes.get(*p.first()? as usize)?;
        Some(format!("{normal_prefix}{stem}{normal_suffix}"))
    }

    /// P(tag | word) from the corpus statistics, 0 when unknown.
    pub fn prob(&self, word_lower: &str, tag: u32) -> f64 {
        let Some(d) = &self.p_t_given_w else { return 0.0 };
        let key = format!("{word_lower}:{}", self.tags.get(tag).text);
        d.get(&key).map(|v| v as f64 / 1_000_000.0).unwrap_or(0.0)
    }
}
