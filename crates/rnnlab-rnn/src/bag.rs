//! fastText's bag of n-grams for the recurrent classifier: hashed word unigrams and bigrams and
//! character n-grams of `<word>` (fastText's `-minn`/`-maxn`), computed from the token strings,
//! so rare and unseen words (hashtags, misspellings) still have features where the word
//! vocabulary has only `<unk>`.

use super::config::RnnConfig;

/// FNV-1a over the bytes, with a tag for the kind of n-gram.
fn hash(tag: u8, parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ tag as u64;
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h = (h ^ 0xff).wrapping_mul(0x0100_0000_01b3);
        }
        for &b in *p {
            h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// The bucket ids of one document's n-grams (empty when the bag is off).
pub fn ngram_bag(tokens: &[String], config: &RnnConfig) -> Vec<u32> {
    let buckets = config.inputs.bag_buckets as u64;
    if buckets == 0 {
        return Vec::new();
    }
    let mut ids = Vec::new();
    let mut push = |h: u64| ids.push((h % buckets) as u32);
    for t in tokens {
        push(hash(1, &[t.as_bytes()]));
    }
    for w in tokens.windows(2) {
        push(hash(2, &[w[0].as_bytes(), w[1].as_bytes()]));
    }
    if config.inputs.bag_minn > 0 && config.inputs.bag_maxn >= config.inputs.bag_minn {
        let mut chars: Vec<char> = Vec::new();
        let mut buf = String::new();
        for t in tokens {
            char_ngrams(
                t,
                config.inputs.bag_minn,
                config.inputs.bag_maxn,
                &mut chars,
                &mut buf,
                &mut push,
            );
        }
    }
    ids
}

/// Calls `push` with the hash of each character n-gram of `<token>`, `minn` to `maxn`
/// characters long (`chars` and `buf` are scratch space).
fn char_ngrams(
    token: &str,
    minn: usize,
    maxn: usize,
    chars: &mut Vec<char>,
    buf: &mut String,
    push: &mut impl FnMut(u64),
) {
    chars.clear();
    chars.push('<');
    chars.extend(token.chars());
    chars.push('>');
    for n in minn..=maxn.min(chars.len()) {
        for gram in chars.windows(n) {
            // fastText leaves out the whole `<word>`: the unigram covers it.
            if n == chars.len() {
                continue;
            }
            buf.clear();
            buf.extend(gram);
            push(hash(3, &[buf.as_bytes()]));
        }
    }
}

/// Each token's character n-gram buckets for the character-aware input (`char_buckets`), in
/// token order: token `j` has `counts[j]` of them, following those of the tokens before it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenGrams {
    pub ids: Vec<u32>,
    pub counts: Vec<u32>,
}

/// The character n-grams of every token of one document (empty when `char_buckets` is 0).
/// The `<s>`/`</s>` markers have none: they are positions, not words.
pub fn token_grams(tokens: &[String], config: &RnnConfig) -> TokenGrams {
    let buckets = config.inputs.char_buckets as u64;
    let mut grams = TokenGrams::default();
    if buckets == 0 {
        return grams;
    }
    let (mut chars, mut buf) = (Vec::new(), String::new());
    for t in tokens {
        let before = grams.ids.len();
        if t != super::config::BOS && t != super::config::EOS {
            let ids = &mut grams.ids;
            char_ngrams(
                t,
                config.inputs.char_minn,
                config.inputs.char_maxn,
                &mut chars,
                &mut buf,
                &mut |h| ids.push((h % buckets) as u32),
            );
        }
        grams.counts.push((grams.ids.len() - before) as u32);
    }
    grams
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Inputs;

    fn cfg(minn: usize, maxn: usize) -> RnnConfig {
        RnnConfig {
            inputs: Inputs {
                bag_buckets: 1000,
                bag_minn: minn,
                bag_maxn: maxn,
                ..Inputs::default()
            },
            ..RnnConfig::default()
        }
    }

    fn toks(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn counts_and_ranges() {
        let doc = toks("#love the üñí");
        // 3 unigrams + 2 bigrams.
        assert_eq!(ngram_bag(&doc, &cfg(0, 0)).len(), 5);
        // plus char 3-grams of <#love> (7 chars: 5), <the> (5: 3), <üñí> (5: 3).
        let with_chars = ngram_bag(&doc, &cfg(3, 3));
        assert_eq!(with_chars.len(), 5 + 5 + 3 + 3);
        assert!(with_chars.iter().all(|&b| b < 1000));
        // Repeatable, and order-sensitive for bigrams only.
        assert_eq!(ngram_bag(&doc, &cfg(3, 5)), ngram_bag(&doc, &cfg(3, 5)));
        assert!(ngram_bag(&[], &cfg(3, 5)).is_empty());
        assert!(ngram_bag(&doc, &RnnConfig::default()).is_empty());
        // A word and the same letters split differently hash apart.
        assert_ne!(
            ngram_bag(&toks("ab c"), &cfg(0, 0)),
            ngram_bag(&toks("a bc"), &cfg(0, 0))
        );
    }

    #[test]
    fn token_grams_follow_the_tokens_and_skip_markers() {
        let config = RnnConfig {
            inputs: Inputs {
                char_buckets: 500,
                char_minn: 3,
                char_maxn: 4,
                ..Inputs::default()
            },
            ..RnnConfig::default()
        };
        let doc = toks("<s> hello üñí a </s>");
        let g = token_grams(&doc, &config);
        // <hello> (7 chars): 5 3-grams + 4 4-grams; <üñí> (5): 3 + 2; <a> (3 = the whole word): none.
        assert_eq!(g.counts, [0, 9, 5, 0, 0]);
        assert_eq!(g.ids.len(), 14);
        assert!(g.ids.iter().all(|&b| b < 500));
        // A token's n-grams do not depend on its neighbours.
        let alone = token_grams(&toks("üñí"), &config);
        assert_eq!(alone.ids, g.ids[9..14]);
        // The same n-grams as the bag's character part, hashed into the same buckets.
        let bag = ngram_bag(
            &toks("hello"),
            &RnnConfig {
                inputs: Inputs {
                    bag_buckets: 500,
                    bag_minn: 3,
                    bag_maxn: 4,
                    ..Inputs::default()
                },
                ..RnnConfig::default()
            },
        );
        assert_eq!(bag[1..], g.ids[..9]);
        assert!(token_grams(&doc, &RnnConfig::default()).ids.is_empty());
        assert_eq!(token_grams(&[], &config), TokenGrams::default());
    }
}
