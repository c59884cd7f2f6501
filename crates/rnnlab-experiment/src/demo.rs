//! The built-in `demo` corpus: short synthetic reviews in English and Russian, generated
//! deterministically, where the label depends on word order: negation (`not bad`, `не плохо`)
//! and contrast (`..., but ...`, `..., но ...`: the clause after the conjunction decides).
//! A bag of words sees both clauses' words with no order; a recurrent network can read the
//! order. It is synthetic, made to show that difference, not to measure anything real.

use rnnlab_text::dataset::{Dataset, Split, SplitMix64};

use crate::prepared::Prepared;

/// Rows of the demo corpus.
pub const DEMO_ROWS: usize = 6000;

struct Lexicon {
    subjects: &'static [&'static str],
    verbs: &'static [&'static str],
    good: &'static [&'static str],
    bad: &'static [&'static str],
    adverbs: &'static [&'static str],
    fillers: &'static [&'static str],
    not: &'static str,
    but: &'static str,
}

const EN: Lexicon = Lexicon {
    subjects: &[
        "the service",
        "the app",
        "the support team",
        "this bank",
        "the delivery",
        "the new phone",
        "the connection",
        "the manager",
        "the website",
        "the tariff",
    ],
    verbs: &["is", "was", "seems", "looks"],
    good: &[
        "good",
        "great",
        "fast",
        "helpful",
        "reliable",
        "friendly",
        "excellent",
        "convenient",
    ],
    bad: &[
        "bad",
        "slow",
        "rude",
        "awful",
        "unreliable",
        "terrible",
        "broken",
        "useless",
    ],
    adverbs: &["really", "very", "quite", "truly", "so", ""],
    fillers: &["today", "as usual", "this time", "honestly", "again", "", "", ""],
    not: "not",
    but: "but",
};

const RU: Lexicon = Lexicon {
    subjects: &[
        "сервис",
        "приложение",
        "банк",
        "поддержка",
        "доставка",
        "связь",
        "менеджер",
        "сайт",
        "тариф",
        "телефон",
    ],
    verbs: &["работает", "справляется", "отвечает", "работал"],
    good: &[
        "хорошо",
        "отлично",
        "быстро",
        "удобно",
        "надёжно",
        "приятно",
        "вежливо",
        "чётко",
    ],
    bad: &[
        "плохо",
        "ужасно",
        "медленно",
        "неудобно",
        "отвратительно",
        "грубо",
        "криво",
        "бестолково",
    ],
    adverbs: &["очень", "совсем", "довольно", "просто", "", ""],
    fillers: &["сегодня", "как обычно", "в этот раз", "честно", "опять", "", "", ""],
    not: "не",
    but: "но",
};

/// The text layer's SplitMix64, so the corpus is the same on every machine.
struct Gen(SplitMix64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0.next_u64()
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() % xs.len() as u64) as usize]
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

/// A clause and its polarity (true: positive), negated or not.
fn clause(g: &mut Gen, lx: &Lexicon, may_negate: bool) -> (String, bool) {
    let subject = g.pick(lx.subjects);
    let verb = g.pick(lx.verbs);
    let positive = g.chance(0.5);
    let word = if positive { g.pick(lx.good) } else { g.pick(lx.bad) };
    let adverb = g.pick(lx.adverbs);
    let negated = may_negate && g.chance(0.35);
    let mut parts = vec![subject, verb];
    if negated {
        parts.push(lx.not);
    }
    if !adverb.is_empty() {
        parts.push(adverb);
    }
    parts.push(word);
    (parts.join(" "), positive != negated)
}

/// One review and its label.
fn review(g: &mut Gen, lx: &Lexicon) -> (String, bool) {
    if g.chance(0.45) {
        return clause(g, lx, true);
    }
    // Contrast: the second clause decides, and usually has the opposite polarity.
    let (first, p1) = clause(g, lx, true);
    let (mut second, mut p2) = clause(g, lx, true);
    for _ in 0..4 {
        if p2 != p1 {
            break;
        }
        (second, p2) = clause(g, lx, true);
    }
    let filler = g.pick(lx.fillers);
    let sep = if filler.is_empty() {
        String::new()
    } else {
        format!(" {filler}")
    };
    (format!("{first}{sep}, {} {second}", lx.but), p2)
}

/// The demo corpus: [`DEMO_ROWS`] rows, half English and half Russian, labels `negative` /
/// `positive`, split 70 / 15 / 15 with 3 % of labels flipped (real labels are noisy too).
pub fn generate(seed: u64) -> Dataset {
    let mut g = Gen(SplitMix64(seed ^ 0xD3E0));
    let mut ds = Dataset {
        name: "demo".into(),
        ..Dataset::default()
    };
    for i in 0..DEMO_ROWS {
        let lx = if i % 2 == 0 { &EN } else { &RU };
        let (text, mut positive) = review(&mut g, lx);
        if g.chance(0.03) {
            positive = !positive;
        }
        ds.ids.push(format!("demo-{i}"));
        ds.texts.push(text);
        ds.labels.push(if positive { "positive" } else { "negative" }.into());
        ds.splits.push(match i % 20 {
            0..=13 => Split::Train,
            14..=16 => Split::Val,
            _ => Split::Test,
        });
    }
    ds
}

/// Fraction of the demo's test rows whose label needs word order (contrast or negation), for the
/// report's note.
pub fn order_dependent_share(prep: &Prepared) -> f64 {
    let rows = &prep.rows[2];
    let n = rows
        .iter()
        .filter(|&&r| {
            let t = &prep.texts[r];
            t.contains(", but ") || t.contains(", но ") || t.contains(" not ") || t.contains(" не ")
        })
        .count();
    n as f64 / rows.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_balanced_and_order_dependent() {
        let a = generate(0);
        let b = generate(0);
        assert_eq!(a.texts, b.texts);
        assert_eq!(a.labels, b.labels);
        assert_eq!(a.len(), DEMO_ROWS);
        let pos = a.labels.iter().filter(|l| *l == "positive").count() as f64 / a.len() as f64;
        assert!((0.4..0.6).contains(&pos), "{pos}");
        assert!(a.texts.iter().any(|t| t.contains(", но ")));
        assert!(a.texts.iter().any(|t| t.contains(", but ")));
        let (tr, va, te) = a.split_sizes();
        assert_eq!((tr, va, te), (4200, 900, 900));
        // Same words, different order, different label: "X, but Y" vs "Y, but X".
        assert_ne!(generate(1).texts, a.texts);
    }
}
