//! Token filters: negation joining, stop words, punctuation.

use std::collections::HashSet;

use crate::tokenize::{Token, TokenKind};
use crate::Lang;

/// Negation particles for a language. English `n't` forms (`don't`, `can't`) count as `not`.
pub fn default_negations(lang: Lang) -> Vec<String> {
    match lang {
        Lang::Ru => vec!["не".into(), "ни".into()],
        Lang::En => vec!["not".into(), "no".into(), "never".into()],
    }
}

/// The particle that `word` stands for, if it is one.
fn negation_of<'a>(word: &'a str, particles: &'a [String]) -> Option<&'a str> {
    if let Some(p) = particles.iter().find(|p| p.as_str() == word) {
        return Some(p.as_str());
    }
    // English contractions: don't, can't, isn't, won't, cannot.
    if particles.iter().any(|p| p == "not")
        && (word.ends_with("n't") || word == "cannot" || word == "cant" || word == "dont")
        && word.chars().count() > 3
    {
        return Some("not");
    }
    None
}

/// Joins each negation particle to the word after it: `не люблю` → `не_люблю`,
/// `don't like` → `not_like`. A particle followed by anything but a word stays alone
/// (and is usually dropped later as a stop word).
pub fn join_negations(tokens: Vec<Token>, particles: &[String]) -> Vec<Token> {
    let mut out: Vec<Token> = Vec::with_capacity(tokens.len());
    let mut pending: Option<String> = None;
    for mut tok in tokens {
        let particle = if tok.kind == TokenKind::Word && tok.negation.is_none() {
            negation_of(&tok.text, particles).map(str::to_string)
        } else {
            None
        };
        if let Some(p) = pending.take() {
            if particle.is_none() && matches!(tok.kind, TokenKind::Word | TokenKind::Hashtag) {
                tok.negation = Some(p);
                out.push(tok);
                continue;
            }
            out.push(Token::new(p, TokenKind::Word));
        }
        match particle {
            Some(p) => pending = Some(p),
            None => out.push(tok),
        }
    }
    if let Some(p) = pending {
        out.push(Token::new(p, TokenKind::Word));
    }
    out
}

/// The built-in stop words of a language: NLTK's lists (the `stop-words` crate's `nltk`
/// set: 151 Russian, 198 English words), function words only. The larger ISO lists (and
/// Python `stop-words`, which the lecture used) also hold evaluative words (`хороший`,
/// `любить`, `good`, `great`, `thanks`) that carry the very signal a sentiment or
/// hate-speech classifier needs; validation F1 preferred NLTK's lists on all three data sets.
pub fn builtin_stopwords(lang: Lang) -> Vec<String> {
    stop_words::get(lang.code()).iter().map(|w| w.to_string()).collect()
}

/// Drops words (not negated ones: `не_люблю` carries meaning) found in `stop`.
pub fn drop_stopwords(tokens: Vec<Token>, stop: &HashSet<String>) -> Vec<Token> {
    tokens
        .into_iter()
        .filter(|t| t.negation.is_some() || !(t.kind == TokenKind::Word && stop.contains(&t.text)))
        .collect()
}

/// Drops punctuation tokens (emoticons stay: `:(` is not punctuation).
pub fn drop_punctuation(tokens: Vec<Token>) -> Vec<Token> {
    tokens.into_iter().filter(|t| t.kind != TokenKind::Punct).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenize::{tokenize, TokenizerConfig};

    fn run(text: &str, lang: Lang) -> Vec<String> {
        let toks = tokenize(text, &TokenizerConfig::default());
        join_negations(toks, &default_negations(lang))
            .iter()
            .map(Token::render)
            .collect()
    }

    #[test]
    fn joins_particle_to_next_word() {
        assert_eq!(run("я не люблю это", Lang::Ru), ["я", "не_люблю", "это"]);
        assert_eq!(run("ни за что", Lang::Ru), ["ни_за", "что"]);
        assert_eq!(run("I don't like it", Lang::En), ["i", "not_like", "it"]);
        assert_eq!(run("not bad at all", Lang::En), ["not_bad", "at", "all"]);
    }

    #[test]
    fn particle_without_a_word_stays() {
        assert_eq!(run("ну не .", Lang::Ru), ["ну", "не", "."]);
        assert_eq!(run("не", Lang::Ru), ["не"]);
        assert_eq!(run("не не надо", Lang::Ru), ["не", "не_надо"]);
    }

    #[test]
    fn stopwords_and_punctuation() {
        let stop: HashSet<String> = builtin_stopwords(Lang::Ru).into_iter().collect();
        assert!(stop.contains("и") && stop.contains("не"));
        let toks = tokenize("и я не люблю , так :(", &TokenizerConfig::default());
        let toks = join_negations(toks, &default_negations(Lang::Ru));
        let toks = drop_punctuation(drop_stopwords(toks, &stop));
        let out: Vec<String> = toks.iter().map(Token::render).collect();
        assert_eq!(out, ["не_люблю", ":("]);
    }

    #[test]
    fn english_list_is_loaded() {
        let stop = builtin_stopwords(Lang::En);
        assert!(stop.iter().any(|w| w == "the"));
        assert!(stop.len() > 100);
    }
}
