//! The `kneser-ney` language-model baseline: an interpolated Kneser-Ney n-gram model over a
//! stream of token ids (the recurrent language models read the same stream).
//!
//! The highest order uses raw counts; every lower order the continuation counts (how many
//! distinct tokens precede an n-gram), and the unigrams are interpolated with the uniform
//! distribution so that every token of the vocabulary has some probability. Two discounts:
//! [`Discount::Modified`] (Chen & Goodman's three discounts per order, D1, D2 and D3+, from the
//! count-of-counts; the default) and [`Discount::Fixed`], one discount for every order, computed
//! as `nltk.lm.KneserNeyInterpolated` computes it (its unigrams are not interpolated with the
//! uniform distribution), so the two can be checked against each other.

use std::collections::HashMap;

use crate::Error;

/// How much of each count goes to the lower order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Discount {
    /// Three discounts per order from its count-of-counts (Chen & Goodman 1998).
    Modified,
    /// One discount everywhere, as NLTK's `KneserNeyInterpolated(discount = d)`.
    Fixed(f64),
}

/// The tokens that follow one context, with their counts (raw or continuation).
#[derive(Debug, Clone, Default)]
struct Followers {
    counts: HashMap<u32, u64>,
    total: u64,
    /// How many followers have count 1, 2 and 3 or more.
    n: [u64; 3],
}

impl Followers {
    fn add(&mut self, word: u32, by: u64) {
        *self.counts.entry(word).or_insert(0) += by;
        self.total += by;
    }

    fn finish(&mut self) {
        self.n = [0; 3];
        for &c in self.counts.values() {
            self.n[(c.min(3) - 1) as usize] += 1;
        }
    }
}

/// One order's table: context (the previous `order - 1` tokens) → followers.
type Table = HashMap<Vec<u32>, Followers>;

/// A fitted interpolated Kneser-Ney model.
#[derive(Debug, Clone)]
pub struct KneserNey {
    order: usize,
    vocab_size: usize,
    discount: Discount,
    /// `raw[k]`: counts of (k + 1)-grams by their context of k tokens.
    raw: Vec<Table>,
    /// `cont[k]` (k < order - 1): continuation counts of (k + 1)-grams: for context `c` and
    /// token `w`, the number of distinct tokens `x` with `x c w` seen.
    cont: Vec<Table>,
    /// Per order (index k as above): D1, D2, D3+.
    discounts: Vec<[f64; 3]>,
}

impl KneserNey {
    /// Counts every n-gram of `stream` up to `order` tokens. Token ids must be below
    /// `vocab_size`.
    pub fn fit(stream: &[u32], vocab_size: usize, order: usize, discount: Discount) -> Result<Self, Error> {
        if !(1..=10).contains(&order) {
            return Err(Error::Param(format!("--order {order}: between 1 and 10")));
        }
        if vocab_size == 0 || stream.is_empty() {
            return Err(Error::Param("a language model needs a vocabulary and some text".into()));
        }
        if let Some(&bad) = stream.iter().find(|&&t| t as usize >= vocab_size) {
            return Err(Error::Param(format!(
                "token id {bad} outside the vocabulary of {vocab_size}"
            )));
        }
        if let Discount::Fixed(d) = discount {
            if !(d > 0.0 && d <= 1.0) {
                return Err(Error::Param(format!("discount {d}: in (0, 1]")));
            }
        }
        let mut raw: Vec<Table> = vec![Table::new(); order];
        for end in 0..stream.len() {
            for k in 0..order.min(end + 1) {
                let context = stream[end - k..end].to_vec();
                raw[k].entry(context).or_default().add(stream[end], 1);
            }
        }
        // Continuation counts of order k + 1 from the distinct (k + 2)-grams.
        let mut cont: Vec<Table> = vec![Table::new(); order.saturating_sub(1)];
        for (k, table) in cont.iter_mut().enumerate() {
            for (context, followers) in &raw[k + 1] {
                let shorter = context[1..].to_vec();
                let entry = table.entry(shorter).or_default();
                for &w in followers.counts.keys() {
                    entry.add(w, 1);
                }
            }
        }
        for t in raw.iter_mut().chain(cont.iter_mut()) {
            t.values_mut().for_each(Followers::finish);
        }
        let discounts = (0..order)
            .map(|k| match discount {
                Discount::Fixed(d) => [d; 3],
                Discount::Modified => {
                    let table = if k + 1 == order { &raw[k] } else { &cont[k] };
                    modified_discounts(table)
                }
            })
            .collect();
        Ok(KneserNey {
            order,
            vocab_size,
            discount,
            raw,
            cont,
            discounts,
        })
    }

    pub fn order(&self) -> usize {
        self.order
    }

    pub fn vocab_size(&self) -> usize {
        self.vocab_size
    }

    /// D1, D2 and D3+ of each order, lowest first.
    pub fn discounts(&self) -> &[[f64; 3]] {
        &self.discounts
    }

    /// P(word | context); only the last `order - 1` tokens of `context` count.
    pub fn prob(&self, context: &[u32], word: u32) -> f64 {
        let keep = context.len().min(self.order - 1);
        self.interpolated(&context[context.len() - keep..], word)
    }

    fn interpolated(&self, context: &[u32], word: u32) -> f64 {
        let k = context.len();
        let highest = k + 1 == self.order;
        let table = if highest { &self.raw[k] } else { &self.cont[k] };
        let lower = |s: &Self| {
            if k == 0 {
                1.0 / s.vocab_size as f64
            } else {
                s.interpolated(&context[1..], word)
            }
        };
        let Some(f) = table.get(context).filter(|f| f.total > 0) else {
            // An unseen context: everything goes to the lower order. NLTK's unigrams have no
            // lower order; a token never seen in context there has probability 0.
            return match (k, self.discount) {
                (0, Discount::Fixed(_)) => 0.0,
                _ => lower(self),
            };
        };
        let count = f.counts.get(&word).copied().unwrap_or(0);
        let total = f.total as f64;
        let d = &self.discounts[k];
        let discount_of = |c: u64| if c == 0 { 0.0 } else { d[(c.min(3) - 1) as usize] };
        let alpha = (count as f64 - discount_of(count)).max(0.0) / total;
        match self.discount {
            // NLTK: the continuation unigram alone.
            Discount::Fixed(_) if k == 0 => count as f64 / total,
            Discount::Fixed(dd) => {
                // NLTK's gamma counts the context's distinct followers in the raw counts.
                let distinct = self.raw[k].get(context).map_or(0, |r| r.counts.len());
                alpha + dd * distinct as f64 / total * lower(self)
            }
            Discount::Modified => {
                let gamma = (d[0] * f.n[0] as f64 + d[1] * f.n[1] as f64 + d[2] * f.n[2] as f64) / total;
                alpha + gamma * lower(self)
            }
        }
    }

    /// Mean negative log-probability (nats) of each token of `stream` given the tokens before
    /// it in the stream, and the number of tokens scored.
    pub fn cross_entropy(&self, stream: &[u32]) -> (f64, usize) {
        let sum: f64 = (0..stream.len()).map(|i| -self.log_prob_at(stream, i)).sum();
        (sum / stream.len().max(1) as f64, stream.len())
    }

    /// The natural log-probability of `stream[i]` after the tokens before it (the last
    /// `order - 1` of them).
    pub fn log_prob_at(&self, stream: &[u32], i: usize) -> f64 {
        let from = i.saturating_sub(self.order - 1);
        self.prob(&stream[from..i], stream[i]).ln()
    }
}

/// Chen & Goodman's D1, D2, D3+ from the count-of-counts n1..n4 of a table; where the
/// estimate is undefined (a small corpus), 0.5, 1 and 1.5. Each Di lies in [0, i].
fn modified_discounts(table: &Table) -> [f64; 3] {
    let mut n = [0u64; 4];
    for f in table.values() {
        for &c in f.counts.values() {
            if (1..=4).contains(&c) {
                n[(c - 1) as usize] += 1;
            }
        }
    }
    let [n1, n2, n3, n4] = n.map(|x| x as f64);
    if n1 == 0.0 || n2 == 0.0 || n3 == 0.0 || n4 == 0.0 {
        return [0.5, 1.0, 1.5];
    }
    let y = n1 / (n1 + 2.0 * n2);
    let d = [
        1.0 - 2.0 * y * n2 / n1,
        2.0 - 3.0 * y * n3 / n2,
        3.0 - 4.0 * y * n4 / n3,
    ];
    [d[0].clamp(0.0, 1.0), d[1].clamp(0.0, 2.0), d[2].clamp(0.0, 3.0)]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small stream with repeats, ids 0..8 of a vocabulary of 10 (two ids never seen).
    fn stream() -> Vec<u32> {
        let text = "0 1 2 3 0 1 4 3 0 5 2 3 0 1 2 6 7 1 2 3 0 1 4 6 0 5 2 3 7 1 2 3 0";
        text.split(' ').map(|t| t.parse().unwrap()).collect()
    }

    #[test]
    fn every_context_distribution_sums_to_one() {
        let s = stream();
        for discount in [Discount::Modified, Discount::Fixed(0.75)] {
            for order in 1..=4 {
                let lm = KneserNey::fit(&s, 10, order, discount).unwrap();
                // Every context seen in the stream, and some never seen.
                let mut contexts: Vec<Vec<u32>> = (0..s.len())
                    .map(|i| s[i.saturating_sub(order - 1)..i].to_vec())
                    .collect();
                contexts.extend([vec![9], vec![8, 9], vec![9, 9, 9], vec![1, 9, 2]]);
                for c in contexts {
                    let total: f64 = (0..10).map(|w| lm.prob(&c, w)).sum();
                    if discount == Discount::Modified {
                        assert!(
                            (total - 1.0).abs() < 1e-12,
                            "{discount:?} order {order} context {c:?}: {total}"
                        );
                    } else {
                        // NLTK's unigrams give unseen tokens nothing; its lower orders count
                        // the distinct followers where the start of the stream differs.
                        assert!(
                            total <= 1.0 + 1e-12 && total > 0.9,
                            "order {order} context {c:?}: {total}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn unseen_tokens_get_mass_and_seen_ones_more() {
        let lm = KneserNey::fit(&stream(), 10, 3, Discount::Modified).unwrap();
        let unseen = lm.prob(&[0, 1], 9);
        assert!(unseen > 0.0 && unseen < 0.05, "{unseen}");
        assert!(
            lm.prob(&[0, 1], 2) > lm.prob(&[0, 1], 7),
            "seen after (0, 1) beats never after it"
        );
        let (h, n) = lm.cross_entropy(&stream());
        assert_eq!(n, stream().len());
        assert!(h > 0.0 && h < (10f64).ln(), "training stream better than uniform: {h}");
    }

    #[test]
    fn a_uniform_model_has_the_vocabulary_as_perplexity() {
        // Order 1 with every token once: continuation counts are flat and discounted alike.
        let s: Vec<u32> = (0..10).collect();
        let lm = KneserNey::fit(&s, 10, 1, Discount::Modified).unwrap();
        let (h, _) = lm.cross_entropy(&s);
        assert!((h.exp() - 10.0).abs() < 1e-9, "{}", h.exp());
    }

    #[test]
    fn bad_parameters_are_refused() {
        assert!(KneserNey::fit(&[0, 1], 2, 0, Discount::Modified).is_err());
        assert!(KneserNey::fit(&[0, 5], 2, 2, Discount::Modified).is_err());
        assert!(KneserNey::fit(&[], 2, 2, Discount::Modified).is_err());
        assert!(KneserNey::fit(&[0, 1], 2, 2, Discount::Fixed(1.5)).is_err());
    }
}
