//! Russian lemmatisation with pymorphy3's semantics: the normal form of the most probable
//! parse, from a pymorphy2/pymorphy3 dictionary directory, cached per distinct word.
//!
//! The dictionary is not compiled into the binary (16 MB of OpenCorpora data, CC BY-SA):
//! `cargo xtask fetch-morph-dict` installs the `pymorphy3-dicts-ru` package's data where
//! [`default_dict_dir`] finds it, and `--morph-dict DIR` points anywhere else.

mod analyzer;
mod dawg;
mod dict;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

pub use analyzer::{Analyzer, Parse};
pub use dict::MorphDict;

use crate::Error;

/// The dictionary package the project uses by default, as pip names it.
pub const DEFAULT_DICT_PACKAGE: &str = "pymorphy3-dicts-ru==2.4.417150.4580142";

/// Where `cargo xtask fetch-morph-dict` puts the dictionary: `$RNNLAB_HOME/morph/ru`, else
/// `$XDG_DATA_HOME/rnnlab/morph/ru`, else `~/.local/share/rnnlab/morph/ru`.
pub fn install_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("RNNLAB_HOME") {
        return PathBuf::from(home).join("morph").join("ru");
    }
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local").join("share")))
        .unwrap_or_else(|| PathBuf::from("."));
    data.join("rnnlab").join("morph").join("ru")
}

/// The dictionary directory to use when none is given: `RNNLAB_MORPH_DICT`, then
/// pymorphy's own `PYMORPHY2_DICT_PATH`, then [`install_dir`].
pub fn default_dict_dir() -> Result<PathBuf, Error> {
    let mut tried = Vec::new();
    for var in ["RNNLAB_MORPH_DICT", "PYMORPHY2_DICT_PATH"] {
        if let Some(v) = std::env::var_os(var) {
            let p = PathBuf::from(v);
            if p.join("words.dawg").is_file() {
                return Ok(p);
            }
            tried.push(format!("{var}={}", p.display()));
        }
    }
    let p = install_dir();
    if p.join("words.dawg").is_file() {
        return Ok(p);
    }
    tried.push(p.display().to_string());
    Err(Error::Dictionary(format!(
        "no Russian morphology dictionary found (looked in {}); install one with \
         `cargo xtask fetch-morph-dict`, or pass --morph-dict DIR (the `data` folder of the \
         pymorphy3-dicts-ru package), or set RNNLAB_MORPH_DICT",
        tried.join(", ")
    )))
}

/// An analyzer plus a cache of lemmas per distinct word, safe to share between threads.
pub struct Lemmatizer {
    analyzer: Analyzer,
    cache: Vec<RwLock<HashMap<String, String>>>,
}

const SHARDS: usize = 16;

impl Lemmatizer {
    pub fn load(dir: &Path) -> Result<Self, Error> {
        Ok(Self::new(Analyzer::new(MorphDict::load(dir)?)))
    }

    pub fn load_default() -> Result<Self, Error> {
        Self::load(&default_dict_dir()?)
    }

    pub fn new(analyzer: Analyzer) -> Self {
        Lemmatizer {
            analyzer,
            cache: (0..SHARDS).map(|_| RwLock::new(HashMap::new())).collect(),
        }
    }

    pub fn analyzer(&self) -> &Analyzer {
        &self.analyzer
    }

    /// Describes the dictionary (directory and revision), for logs and reports.
    pub fn describe(&self) -> String {
        let d = self.analyzer.dict();
        format!("{} ({})", d.dir.display(), d.version)
    }

    fn shard(&self, word: &str) -> &RwLock<HashMap<String, String>> {
        // FNV-1a: cheap and good enough to spread words over shards.
        let mut h: u64 = 0xcbf29ce484222325;
        for b in word.bytes() {
            h = (h ^ b as u64).wrapping_mul(0x100000001b3);
        }
        &self.cache[(h % SHARDS as u64) as usize]
    }

    /// The lemma of `word`, from the cache when it was seen before.
    pub fn lemma(&self, word: &str) -> String {
        let shard = self.shard(word);
        if let Some(l) = shard.read().unwrap_or_else(|e| e.into_inner()).get(word) {
            return l.clone();
        }
        let lemma = self.analyzer.lemma(word);
        shard
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(word.to_string(), lemma.clone());
        lemma
    }

    /// Number of distinct words in the cache.
    pub fn cached(&self) -> usize {
        self.cache
            .iter()
            .map(|s| s.read().unwrap_or_else(|e| e.into_inner()).len())
            .sum()
    }
}
