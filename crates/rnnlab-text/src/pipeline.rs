//! The preprocessing pipeline as data: a list of small serialisable steps (`pipeline.json`),
//! and its compiled form, the [`Preprocessor`], that runs it over texts.
//!
//! Order of steps (DESIGN.md): repair, tokenise, (segment hashtags,) join negations, drop stop
//! words, drop punctuation, stem or lemmatise.
//!
//! One step learns from texts: `segment_hashtags` counts the training texts' words
//! ([`Preprocessor::fit`]); the fitted counts are part of the pipeline's JSON, so a model
//! directory's `pipeline.json` splits hashtags at prediction exactly as in training.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::filters;
use crate::morph::Lemmatizer;
use crate::repair;
use crate::segment::HashtagSegmenter;
use crate::stem::SnowballStemmer;
use crate::tokenize::{self, Token, TokenKind, TokenizerConfig};
use crate::{Error, Lang};

/// One preprocessing step. The JSON form is tagged by `"type"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Repair mojibake and decode HTML entities.
    Repair { mojibake: bool, html_entities: bool },
    /// Split into tweet-aware tokens.
    Tokenize(TokenizerConfig),
    /// Split compound hashtags into words (`#endhate` → `end`, `hate`) by the word counts of
    /// the training texts; each part stays a hashtag token.
    SegmentHashtags(HashtagSegmenter),
    /// Join a negation particle to the next word (`не люблю` → `не_люблю`).
    JoinNegations { particles: Vec<String> },
    /// Drop stop words: the built-in list of `builtin` (if any) plus `extra`.
    DropStopwords {
        builtin: Option<Lang>,
        #[serde(default)]
        extra: Vec<String>,
    },
    /// Drop punctuation tokens.
    DropPunctuation,
    /// Snowball stemming.
    Stem { lang: Lang },
    /// Lemmatisation with pymorphy3's semantics; `dictionary` records which one was used.
    Lemmatize {
        lang: Lang,
        #[serde(default)]
        dictionary: String,
    },
}

/// How words are normalised at the end of the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Normalize {
    Lemmatize,
    Stem,
    None,
}

impl Normalize {
    /// The default of a language: Russian lemmatises, English stems.
    pub fn default_for(lang: Lang) -> Self {
        match lang {
            Lang::Ru => Normalize::Lemmatize,
            Lang::En => Normalize::Stem,
        }
    }
}

/// A preprocessing pipeline: the language and the steps, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pipeline {
    pub lang: Lang,
    pub steps: Vec<Step>,
}

impl Pipeline {
    /// The standard pipeline of DESIGN.md for a language.
    pub fn standard(lang: Lang, normalize: Normalize, keep_stopwords: bool, extra_stopwords: Vec<String>) -> Self {
        let mut steps = vec![
            Step::Repair {
                mojibake: true,
                html_entities: true,
            },
            Step::Tokenize(TokenizerConfig::default()),
            Step::JoinNegations {
                particles: filters::default_negations(lang),
            },
        ];
        if !keep_stopwords || !extra_stopwords.is_empty() {
            steps.push(Step::DropStopwords {
                builtin: (!keep_stopwords).then_some(lang),
                extra: extra_stopwords,
            });
        }
        steps.push(Step::DropPunctuation);
        match normalize {
            Normalize::Lemmatize => steps.push(Step::Lemmatize {
                lang,
                dictionary: String::new(),
            }),
            Normalize::Stem => steps.push(Step::Stem { lang }),
            Normalize::None => {}
        }
        Pipeline { lang, steps }
    }

    /// The fastText anchor's preprocessing: lowercase, then `\w+|[^\w\s]`, and no other step.
    pub fn simple(lang: Lang) -> Self {
        let split = TokenizerConfig {
            simple: true,
            ..TokenizerConfig::default()
        };
        Pipeline {
            lang,
            steps: vec![Step::Tokenize(split)],
        }
    }

    /// The same pipeline splitting on whitespace only (Python's `str.split()`, lowercased):
    /// for texts tokenized elsewhere.
    pub fn with_whitespace_tokens(&self) -> Pipeline {
        let mut p = self.clone();
        for s in &mut p.steps {
            if let Step::Tokenize(cfg) = s {
                cfg.whitespace = true;
            }
        }
        p
    }

    /// Whether a step stems or lemmatises the words.
    pub fn normalizes(&self) -> bool {
        self.steps
            .iter()
            .any(|s| matches!(s, Step::Stem { .. } | Step::Lemmatize { .. }))
    }

    /// The same pipeline without its stemming or lemmatisation: words as the earlier steps
    /// leave them (lowercased, negations joined).
    pub fn without_normalization(&self) -> Pipeline {
        self.without_steps(|s| matches!(s, Step::Stem { .. } | Step::Lemmatize { .. }))
    }

    /// The same pipeline without the steps `drop` picks.
    fn without_steps(&self, drop: impl Fn(&Step) -> bool) -> Pipeline {
        Pipeline {
            lang: self.lang,
            steps: self.steps.iter().filter(|s| !drop(s)).cloned().collect(),
        }
    }

    /// Whether a step drops punctuation tokens.
    pub fn drops_punctuation(&self) -> bool {
        self.steps.iter().any(|s| matches!(s, Step::DropPunctuation))
    }

    /// The same pipeline keeping punctuation tokens (`!!!`, `?`, `…`, quotes): without its
    /// `drop_punctuation` step. Emoticons and emoji are kept either way.
    pub fn with_punctuation(&self) -> Pipeline {
        self.without_steps(|s| matches!(s, Step::DropPunctuation))
    }

    /// The same pipeline with hashtags as tags: `#love` stays the token `#love`, apart from the
    /// word `love` (the tokenizer's `hashtag_word` off).
    pub fn with_hashtags_as_tags(&self) -> Pipeline {
        let mut p = self.clone();
        for s in &mut p.steps {
            if let Step::Tokenize(cfg) = s {
                cfg.hashtag_word = false;
            }
        }
        p
    }

    /// The same pipeline with a (not yet fitted) hashtag segmenter right after the tokenizer,
    /// keeping words seen `min_count` times; an existing one is replaced.
    pub fn with_hashtag_segmentation(&self, min_count: u64) -> Pipeline {
        let mut steps: Vec<Step> = Vec::with_capacity(self.steps.len() + 1);
        for s in &self.steps {
            match s {
                Step::SegmentHashtags(_) => continue,
                Step::Tokenize(_) => {
                    steps.push(s.clone());
                    steps.push(Step::SegmentHashtags(HashtagSegmenter::new(min_count)));
                }
                _ => steps.push(s.clone()),
            }
        }
        Pipeline { lang: self.lang, steps }
    }

    /// Whether a step splits hashtags.
    pub fn segments_hashtags(&self) -> bool {
        self.steps.iter().any(|s| matches!(s, Step::SegmentHashtags(_)))
    }

    pub fn needs_lemmatizer(&self) -> bool {
        self.steps.iter().any(|s| matches!(s, Step::Lemmatize { .. }))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a pipeline always serialises")
    }

    pub fn from_json(text: &str) -> Result<Self, Error> {
        serde_json::from_str(text).map_err(|e| Error::Pipeline(format!("invalid pipeline JSON: {e}")))
    }

    pub fn load(path: &Path) -> Result<Self, Error> {
        // A pipeline is a few kilobytes: refuse a device or a huge file rather than read it.
        let meta = std::fs::metadata(path).map_err(|e| Error::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        if !meta.is_file() || meta.len() > 1 << 30 {
            return Err(Error::Pipeline(format!(
                "{}: not a pipeline file (not a regular file, or over 1 GiB)",
                path.display()
            )));
        }
        let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        serde_json::from_str(&text).map_err(|e| Error::Pipeline(format!("{}: invalid pipeline: {e}", path.display())))
    }

    /// Writes `pipeline.json` whole (a temporary name beside it, then renamed).
    pub fn save(&self, path: &Path) -> Result<(), Error> {
        let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
        let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
        let written = std::fs::write(&tmp, self.to_json()).and_then(|()| std::fs::rename(&tmp, path));
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written.map_err(|e| Error::Io {
            path: path.to_path_buf(),
            source: e,
        })
    }

    /// Checks that the steps are in an order that can run: text steps before the
    /// tokenizer, exactly one tokenizer, token steps after it.
    pub fn validate(&self) -> Result<(), Error> {
        let tok = self.steps.iter().filter(|s| matches!(s, Step::Tokenize(_))).count();
        if tok != 1 {
            return Err(Error::Pipeline(format!(
                "a pipeline needs exactly one tokenize step, found {tok}"
            )));
        }
        let mut tokenized = false;
        for (i, s) in self.steps.iter().enumerate() {
            match s {
                Step::Tokenize(_) => tokenized = true,
                Step::Repair { .. } if tokenized => {
                    return Err(Error::Pipeline(format!("step {i} (repair) must come before tokenize")))
                }
                Step::Repair { .. } => {}
                _ if !tokenized => {
                    return Err(Error::Pipeline(format!(
                        "step {i} works on tokens and must come after tokenize"
                    )))
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// Counts over a batch of documents, for the `preprocess` summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PipelineStats {
    pub docs: usize,
    pub repaired: usize,
    pub mojibake: usize,
    pub html_entities: usize,
    pub empty: usize,
    pub tokens: usize,
}

impl PipelineStats {
    fn add(mut self, o: PipelineStats) -> Self {
        self.docs += o.docs;
        self.repaired += o.repaired;
        self.mojibake += o.mojibake;
        self.html_entities += o.html_entities;
        self.empty += o.empty;
        self.tokens += o.tokens;
        self
    }
}

enum Compiled {
    Repair { mojibake: bool, html_entities: bool },
    Tokenize(TokenizerConfig),
    SegmentHashtags(HashtagSegmenter),
    JoinNegations(Vec<String>),
    DropStopwords(HashSet<String>),
    DropPunctuation,
    Stem(SnowballStemmer),
    Lemmatize(Arc<Lemmatizer>),
}

/// A pipeline ready to run: stop-word sets built, stemmer and lemmatizer attached.
pub struct Preprocessor {
    pipeline: Pipeline,
    steps: Vec<Compiled>,
}

/// Replaces each hashtag that `seg` splits by its parts, each a hashtag token (with the `#`
/// where the tokenizer kept it: `#endhate` → `#end`, `#hate`).
fn segment_hashtags(tokens: Vec<Token>, seg: &HashtagSegmenter) -> Vec<Token> {
    let mut out = Vec::with_capacity(tokens.len());
    for t in tokens {
        if t.kind == TokenKind::Hashtag {
            let (sign, tag) = match t.text.strip_prefix('#') {
                Some(tag) => ("#", tag),
                None => ("", t.text.as_str()),
            };
            if let Some(parts) = seg.split(tag) {
                out.extend(
                    parts
                        .into_iter()
                        .map(|p| Token::new(format!("{sign}{p}"), TokenKind::Hashtag)),
                );
                continue;
            }
        }
        out.push(t);
    }
    out
}

fn has_cyrillic(s: &str) -> bool {
    s.chars().any(|c| matches!(c, '\u{0400}'..='\u{04FF}'))
}

impl Preprocessor {
    /// Compiles `pipeline`. A `lemmatize` step needs `lemmatizer`.
    pub fn new(mut pipeline: Pipeline, lemmatizer: Option<Arc<Lemmatizer>>) -> Result<Self, Error> {
        pipeline.validate()?;
        let mut steps = Vec::with_capacity(pipeline.steps.len());
        for step in &mut pipeline.steps {
            steps.push(match step {
                Step::Repair {
                    mojibake,
                    html_entities,
                } => Compiled::Repair {
                    mojibake: *mojibake,
                    html_entities: *html_entities,
                },
                Step::Tokenize(cfg) => Compiled::Tokenize(cfg.clone()),
                Step::SegmentHashtags(seg) => Compiled::SegmentHashtags(seg.clone()),
                Step::JoinNegations { particles } => Compiled::JoinNegations(particles.clone()),
                Step::DropStopwords { builtin, extra } => {
                    let mut set: HashSet<String> = builtin
                        .map(filters::builtin_stopwords)
                        .unwrap_or_default()
                        .into_iter()
                        .collect();
                    set.extend(extra.iter().map(|w| w.to_lowercase()));
                    Compiled::DropStopwords(set)
                }
                Step::DropPunctuation => Compiled::DropPunctuation,
                Step::Stem { lang } => Compiled::Stem(SnowballStemmer::new(*lang)),
                Step::Lemmatize { lang, dictionary } => {
                    if *lang != Lang::Ru {
                        return Err(Error::Pipeline(format!(
                            "lemmatisation is available for Russian only, not {lang}; use stemming"
                        )));
                    }
                    let lem = lemmatizer.clone().ok_or_else(|| {
                        Error::Pipeline("the pipeline lemmatises but no morphology dictionary was loaded".into())
                    })?;
                    *dictionary = lem.analyzer().dict().version.clone();
                    Compiled::Lemmatize(lem)
                }
            });
        }
        Ok(Preprocessor { pipeline, steps })
    }

    /// The pipeline this runs (with the dictionary version filled in).
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// Whether a step still has to learn from training texts (a hashtag segmenter not yet
    /// fitted): call [`Preprocessor::fit`] before processing.
    pub fn needs_fit(&self) -> bool {
        self.steps
            .iter()
            .any(|s| matches!(s, Compiled::SegmentHashtags(seg) if !seg.is_fitted()))
    }

    /// A copy whose learning steps have learnt from `texts`, the training rows: the hashtag
    /// segmenter counts the word tokens the steps before it give (hashtags themselves are not
    /// counted). Fitted steps are fitted again.
    pub fn fit<S: AsRef<str> + Sync>(&self, texts: &[S]) -> Result<Preprocessor, Error> {
        let mut pipeline = self.pipeline.clone();
        for (k, step) in pipeline.steps.iter_mut().enumerate() {
            if let Step::SegmentHashtags(seg) = step {
                let docs: Vec<Vec<Token>> = texts
                    .par_iter()
                    .map(|t| self.run(&self.steps[..k], t.as_ref()).0)
                    .collect();
                seg.fit(
                    docs.iter()
                        .flatten()
                        .filter(|t| t.kind == TokenKind::Word)
                        .map(|t| t.text.as_str()),
                );
            }
        }
        let lemmatizer = self.steps.iter().find_map(|s| match s {
            Compiled::Lemmatize(l) => Some(Arc::clone(l)),
            _ => None,
        });
        Preprocessor::new(pipeline, lemmatizer)
    }

    /// Runs the pipeline over one text.
    pub fn process(&self, text: &str) -> Vec<String> {
        self.process_with_stats(text).0
    }

    fn process_with_stats(&self, text: &str) -> (Vec<String>, PipelineStats) {
        let (tokens, mut stats) = self.run(&self.steps, text);
        let out: Vec<String> = tokens
            .iter()
            .filter(|t| !t.text.is_empty())
            .map(Token::render)
            .collect();
        stats.tokens = out.len();
        stats.empty = out.is_empty() as usize;
        (out, stats)
    }

    /// Runs `steps` over one text: its tokens, and the repair counts.
    fn run(&self, steps: &[Compiled], text: &str) -> (Vec<Token>, PipelineStats) {
        let mut stats = PipelineStats {
            docs: 1,
            ..Default::default()
        };
        let mut owned: Option<String> = None;
        let mut tokens: Vec<Token> = Vec::new();
        for step in steps {
            match step {
                Compiled::Repair {
                    mojibake,
                    html_entities,
                } => {
                    let (t, report) = repair::repair(owned.as_deref().unwrap_or(text), *mojibake, *html_entities);
                    stats.mojibake += report.mojibake as usize;
                    stats.html_entities += report.entities as usize;
                    stats.repaired += report.any() as usize;
                    owned = Some(t);
                }
                Compiled::Tokenize(cfg) => tokens = tokenize::tokenize(owned.as_deref().unwrap_or(text), cfg),
                Compiled::SegmentHashtags(seg) => tokens = segment_hashtags(std::mem::take(&mut tokens), seg),
                Compiled::JoinNegations(p) => tokens = filters::join_negations(std::mem::take(&mut tokens), p),
                Compiled::DropStopwords(set) => tokens = filters::drop_stopwords(std::mem::take(&mut tokens), set),
                Compiled::DropPunctuation => tokens = filters::drop_punctuation(std::mem::take(&mut tokens)),
                Compiled::Stem(stemmer) => {
                    for t in &mut tokens {
                        if matches!(t.kind, TokenKind::Word | TokenKind::Hashtag) {
                            t.text = stemmer.stem(&t.text);
                        }
                    }
                }
                Compiled::Lemmatize(lem) => {
                    for t in &mut tokens {
                        if matches!(t.kind, TokenKind::Word | TokenKind::Hashtag) && has_cyrillic(&t.text) {
                            t.text = lem.lemma(&t.text);
                        }
                    }
                }
            }
        }
        (tokens, stats)
    }

    /// Runs the pipeline over many texts in parallel (rayon), in order.
    pub fn process_all<S: AsRef<str> + Sync>(&self, texts: &[S]) -> (Vec<Vec<String>>, PipelineStats) {
        let results: Vec<(Vec<String>, PipelineStats)> =
            texts.par_iter().map(|t| self.process_with_stats(t.as_ref())).collect();
        let mut stats = PipelineStats::default();
        let mut out = Vec::with_capacity(results.len());
        for (tokens, s) in results {
            stats = stats.add(s);
            out.push(tokens);
        }
        (out, stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn en() -> Preprocessor {
        Preprocessor::new(Pipeline::standard(Lang::En, Normalize::Stem, false, vec![]), None).unwrap()
    }

    #[test]
    fn english_standard_pipeline() {
        let p = en();
        assert_eq!(
            p.process("@user I don't like running &amp; jumping!!! http://x.co :("),
            ["<user>", "not_like", "run", "jump", "<url>", ":("]
        );
    }

    #[test]
    fn without_normalization_keeps_every_other_step() {
        let stemmed = Pipeline::standard(Lang::En, Normalize::Stem, false, vec!["cat".into()]);
        let raw = stemmed.without_normalization();
        assert!(stemmed.normalizes() && !raw.normalizes());
        assert_eq!(
            raw,
            Pipeline::standard(Lang::En, Normalize::None, false, vec!["cat".into()])
        );
        assert_eq!(
            Preprocessor::new(raw.clone(), None)
                .unwrap()
                .process("@user I don't like running &amp; jumping!!!"),
            ["<user>", "not_like", "running", "jumping"]
        );
        assert_eq!(raw.without_normalization(), raw);
        let lemmas = Pipeline::standard(Lang::Ru, Normalize::Lemmatize, true, vec![]);
        assert!(lemmas.normalizes() && !lemmas.without_normalization().needs_lemmatizer());
    }

    #[test]
    fn with_punctuation_keeps_every_other_step() {
        let stemmed = Pipeline::standard(Lang::En, Normalize::Stem, false, vec![]);
        let punct = stemmed.with_punctuation();
        assert!(stemmed.drops_punctuation() && !punct.drops_punctuation());
        assert_eq!(punct.steps.len() + 1, stemmed.steps.len());
        assert!(punct.normalizes());
        assert_eq!(
            Preprocessor::new(punct.clone(), None)
                .unwrap()
                .process("@user I don't like running, really?! … :("),
            ["<user>", "not_like", "run", ",", "realli", "?", "!", "…", ":("]
        );
        assert_eq!(punct.with_punctuation(), punct);
        assert_eq!(Pipeline::from_json(&punct.to_json()).unwrap(), punct);
    }

    #[test]
    fn hashtags_as_tags_keep_their_sign() {
        let words = Pipeline::standard(Lang::En, Normalize::None, false, vec![]);
        let tags = words.with_hashtags_as_tags();
        assert_eq!(tags.steps.len(), words.steps.len());
        assert_eq!(tags.with_hashtags_as_tags(), tags);
        let text = "#Love is love #love";
        assert_eq!(
            Preprocessor::new(words, None).unwrap().process(text),
            ["love", "love", "love"]
        );
        assert_eq!(
            Preprocessor::new(tags.clone(), None).unwrap().process(text),
            ["#love", "love", "#love"]
        );
        assert_eq!(Pipeline::from_json(&tags.to_json()).unwrap(), tags);
        // A segmenter splits them too, each part keeping the sign.
        let seg = Preprocessor::new(tags.with_hashtag_segmentation(2), None)
            .unwrap()
            .fit(&["stop hate", "stop hate"])
            .unwrap();
        assert_eq!(seg.process("#stophate #stop"), ["#stop", "#hate", "#stop"]);
    }

    #[test]
    fn russian_without_lemmas() {
        let p = Preprocessor::new(Pipeline::standard(Lang::Ru, Normalize::Stem, false, vec![]), None).unwrap();
        assert_eq!(p.process("Я не люблю красивые машины!"), ["не_любл", "красив", "машин"]);
    }

    #[test]
    fn keep_stopwords_and_extra_list() {
        let p = Preprocessor::new(
            Pipeline::standard(Lang::En, Normalize::None, true, vec!["Cat".into()]),
            None,
        )
        .unwrap();
        assert_eq!(p.process("the cat sat"), ["the", "sat"]);
    }

    #[test]
    fn json_roundtrip_and_validation() {
        let p = Pipeline::standard(Lang::Ru, Normalize::Lemmatize, false, vec![]);
        let back = Pipeline::from_json(&p.to_json()).unwrap();
        assert_eq!(p, back);
        assert!(p.to_json().contains("\"type\": \"join_negations\""));
        let mut bad = p.clone();
        bad.steps.swap(0, 1);
        assert!(bad.validate().is_err());
        assert!(Pipeline::from_json("{\"lang\":\"ru\",\"steps\":[{\"type\":\"nope\"}]}").is_err());
    }

    #[test]
    fn hashtag_segmentation_learns_from_training_texts() {
        let p = Pipeline::standard(Lang::En, Normalize::None, false, vec![]).with_hashtag_segmentation(2);
        assert!(p.segments_hashtags() && p.validate().is_ok());
        assert_eq!(p.with_hashtag_segmentation(2), p, "adding it twice keeps one");
        let mut early = p.clone();
        early.steps.swap(1, 2);
        assert!(early.validate().unwrap_err().to_string().contains("after tokenize"));
        let pre = Preprocessor::new(p, None).unwrap();
        assert!(pre.needs_fit());
        // Not fitted: hashtags stay whole.
        assert_eq!(pre.process("#stopthehate now"), ["stopthehate"]);
        let train = [
            "stop the hate, stop it now #stophate",
            "Hate has no home here, stop hate",
            "#blacklivesmatter",
        ];
        let fitted = pre.fit(&train).unwrap();
        assert!(!fitted.needs_fit());
        // "the" is too rare to be a part; a known word stays whole.
        assert_eq!(
            fitted.process("I said #stophate #stopthehate #home"),
            ["said", "stop", "hate", "stopthehate", "home"]
        );
        // Hashtags are not counted: "blacklivesmatter" taught no words.
        assert_eq!(fitted.process("#blacklives"), ["blacklives"]);
        // Parts are normalised as hashtags are.
        let stemmed = Pipeline::standard(Lang::En, Normalize::Stem, false, vec![]).with_hashtag_segmentation(2);
        let stemmed = Preprocessor::new(stemmed, None)
            .unwrap()
            .fit(&["stopping hates", "stopping hates"])
            .unwrap();
        assert_eq!(stemmed.process("#stoppinghates"), ["stop", "hate"]);
        // The learnt counts travel in the JSON.
        let back = Preprocessor::new(Pipeline::from_json(&fitted.pipeline().to_json()).unwrap(), None).unwrap();
        assert!(!back.needs_fit());
        assert_eq!(back.process("#stophate"), ["stop", "hate"]);
        // Normalisation off keeps the fitted segmenter.
        let raw = Preprocessor::new(fitted.pipeline().without_normalization(), None).unwrap();
        assert_eq!(raw.process("#stophate"), ["stop", "hate"]);
        // A pipeline without the step has nothing to fit.
        assert!(!en().needs_fit());
    }

    #[test]
    fn lemmatize_without_dictionary_is_an_error() {
        let p = Pipeline::standard(Lang::Ru, Normalize::Lemmatize, false, vec![]);
        assert!(Preprocessor::new(p, None).is_err());
    }

    #[test]
    fn batch_counts() {
        let p = en();
        let (out, stats) = p.process_all(&["", "   ", "good day", "caf\u{c3}\u{a9} &lt;3"]);
        assert_eq!(out.len(), 4);
        assert_eq!(stats.docs, 4);
        assert_eq!(stats.empty, 2);
        assert_eq!(stats.mojibake, 1);
        assert_eq!(stats.html_entities, 1);
        assert_eq!(out[3], ["café", "<3"]);
    }
}
