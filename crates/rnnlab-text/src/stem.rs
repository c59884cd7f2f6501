//! Snowball stemming (rust-stemmers) for Russian and English.

use rust_stemmers::{Algorithm, Stemmer};

use crate::Lang;

/// A Snowball stemmer for one language.
pub struct SnowballStemmer {
    inner: Stemmer,
}

impl SnowballStemmer {
    pub fn new(lang: Lang) -> Self {
        let algorithm = match lang {
            Lang::Ru => Algorithm::Russian,
            Lang::En => Algorithm::English,
        };
        SnowballStemmer {
            inner: Stemmer::create(algorithm),
        }
    }

    pub fn stem(&self, word: &str) -> String {
        self.inner.stem(word).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_like_snowball() {
        let en = SnowballStemmer::new(Lang::En);
        assert_eq!(en.stem("running"), "run");
        assert_eq!(en.stem("happiness"), "happi");
        let ru = SnowballStemmer::new(Lang::Ru);
        assert_eq!(ru.stem("красивая"), "красив");
        assert_eq!(ru.stem(""), "");
    }
}
