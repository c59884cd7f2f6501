//! `best-rnn`, the project's own recurrent recipe, in one place: the network
//! ([`network`]) and what it reads ([`tokens`]). How each choice was made, with its figures, is
//! docs/research/best-rnn.md; the choices were made on cross-validation of the training split,
//! never on the test split.

use rnnlab_rnn::{
    Architecture, CellKind, Inputs, Optimisation, OptimizerKind, Pooling, Regularisation, RnnConfig, Schedule,
};
use rnnlab_text::{Lang, Pipeline};

/// The network for a task in `lang` with `n_classes` classes (0: not known yet, so the binary
/// tasks' choices stay off). A bidirectional GRU with mean+max pooling beside fastText's bag of
/// word uni-/bigrams and character 3-5-grams (it sees the rare and unseen words, hashtags
/// above all, that the vocabulary maps to `<unk>`), AdamW with a cosine schedule. English
/// trains with label smoothing 0.4 and `<s>`/`</s>` markers; on the Russian sets neither raised
/// validation. Binary tasks weigh the bag's n-grams by their NB log-count ratios and add the
/// wide part (NBSVM's linear model inside the network) at a tenth of the learning rate.
pub fn network(lang: Lang, n_classes: usize) -> RnnConfig {
    let russian = lang == Lang::Ru;
    let binary = n_classes == 2;
    RnnConfig {
        architecture: Architecture {
            cell: CellKind::Gru,
            emb: 128,
            hidden: 96,
            bidirectional: true,
            pooling: Pooling::MeanMax,
            ..Architecture::default()
        },
        inputs: Inputs {
            bag_buckets: 1 << 18,
            bag_dim: 16,
            bag_minn: 3,
            bag_maxn: 5,
            bag_nb: binary,
            bag_wide: binary,
            bag_wide_lr: 0.1,
            bos_eos: !russian,
            ..Inputs::default()
        },
        regularisation: Regularisation {
            dropout: 0.4,
            head_dropout: 0.5,
            recurrent_dropout: 0.1,
            label_smoothing: if russian { 0.0 } else { 0.4 },
            ..Regularisation::default()
        },
        optimisation: Optimisation {
            epochs: 12,
            lr: 2e-3,
            optimizer: OptimizerKind::Adamw,
            weight_decay: 1e-2,
            schedule: Schedule::Cosine,
            ..Optimisation::default()
        },
    }
}

/// What a recipe's network reads where it departs from the data set's pipeline (every other
/// kind, and NB-LR in a blend, reads that pipeline as it is). A user's choice of preprocessing
/// (a normalisation flag or a pipeline file: `Prepared::normalization_chosen`) wins: the
/// network then reads the user's pipeline exactly.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetworkTokens {
    /// Words as written: without the pipeline's stemming or lemmatisation. (Punctuation kept
    /// on a lemmatising pipeline would need the dictionary again: an error in `train_model`.)
    pub words_as_written: bool,
    /// Punctuation tokens kept (`!!!`, `?`, `…`, quotes).
    pub punctuation: bool,
    /// Hashtags as tags: `#love` a token apart from the word `love`.
    pub hashtags_as_tags: bool,
}

/// `best-rnn`'s tokens: for English, words unstemmed, punctuation kept and hashtags as tags;
/// Russian reads the data set's pipeline (lemmas: a few thousand tweets do not teach word
/// vectors its inflection; punctuation gained on banks and lost on telecoms).
pub fn tokens(lang: Lang) -> NetworkTokens {
    let en = lang == Lang::En;
    NetworkTokens {
        words_as_written: en,
        punctuation: en,
        hashtags_as_tags: en,
    }
}

impl NetworkTokens {
    /// The pipeline these make of `pipeline`.
    pub fn apply(&self, pipeline: &Pipeline) -> Pipeline {
        let mut p = pipeline.clone();
        if self.words_as_written {
            p = p.without_normalization();
        }
        if self.punctuation {
            p = p.with_punctuation();
        }
        if self.hashtags_as_tags {
            p = p.with_hashtags_as_tags();
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recipe_depends_on_language_and_on_binary_tasks() {
        let en = network(Lang::En, 2);
        assert!(en.validate().is_ok());
        // English trains with label smoothing and markers, Russian without; only binary tasks
        // weigh the bag by NB ratios and add the wide part at a tenth of the rate.
        assert!(en.regularisation.label_smoothing > 0.0 && en.inputs.bos_eos && en.inputs.bag_nb);
        assert!(en.inputs.bag_wide && en.inputs.bag_wide_lr == 0.1);
        let ru = network(Lang::Ru, 3);
        assert!(ru.validate().is_ok());
        assert!(
            ru.regularisation.label_smoothing == 0.0 && !ru.inputs.bos_eos && !ru.inputs.bag_nb && !ru.inputs.bag_wide
        );
        assert!(!network(Lang::En, 3).inputs.bag_nb && network(Lang::Ru, 2).inputs.bag_nb);
        assert!(
            !network(Lang::En, 0).inputs.bag_nb,
            "classes not known yet: binary choices off"
        );
        assert_eq!(en.pooled_width(), 4 * en.architecture.hidden);
        assert_eq!(
            tokens(Lang::En),
            NetworkTokens {
                words_as_written: true,
                punctuation: true,
                hashtags_as_tags: true
            }
        );
        assert_eq!(tokens(Lang::Ru), NetworkTokens::default());
    }
}
