//! A trained model directory loaded for `eval` and `predict`, with the pipeline it trained on.

use std::path::{Path, PathBuf};

use anyhow::Result;
use rnnlab_experiment::AnyModel;
use rnnlab_text::{Pipeline, Preprocessor};
use serde_json::Value;

/// A model directory loaded for eval / predict.
pub(crate) struct Loaded {
    pub(crate) model: AnyModel,
    pub(crate) pre: Preprocessor,
    /// A blend whose network part reads other tokens: the pipeline of its `rnn/` directory.
    pub(crate) rnn_pre: Option<Preprocessor>,
    pub(crate) meta: Value,
}

impl Loaded {
    /// Class probabilities of `texts`, each model part reading its own pipeline's tokens.
    pub(crate) fn predict_proba(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        let (tokens, _) = self.pre.process_all(texts);
        Ok(match (&self.model, &self.rnn_pre) {
            (AnyModel::Blend(blend), Some(rnn_pre)) => {
                let (rnn_tokens, _) = rnn_pre.process_all(texts);
                blend.predict_proba_parts(&tokens, &rnn_tokens)?
            }
            (model, _) => model.predict_proba(&tokens)?,
        })
    }
}

pub(crate) fn load_model(dir: &Path, morph_dict: Option<&PathBuf>) -> Result<Loaded> {
    let (model, meta) = AnyModel::load(dir, &candle_core::Device::Cpu)?;
    let compile = |pipeline: Pipeline| -> Result<Preprocessor> {
        let lemmatizer = if pipeline.needs_lemmatizer() {
            Some(crate::load_lemmatizer(morph_dict)?)
        } else {
            None
        };
        Ok(Preprocessor::new(pipeline, lemmatizer)?)
    };
    let pipeline = Pipeline::load(&dir.join("pipeline.json"))?;
    // A blend's network part may have trained on other tokens (unstemmed English words,
    // punctuation and hashtags as tags kept).
    let rnn_pipeline = match &model {
        AnyModel::Blend(_) if dir.join("rnn/pipeline.json").is_file() => {
            Some(Pipeline::load(&dir.join("rnn/pipeline.json"))?).filter(|p| *p != pipeline)
        }
        _ => None,
    };
    let rnn_pre = rnn_pipeline.map(compile).transpose()?;
    Ok(Loaded {
        model,
        pre: compile(pipeline)?,
        rnn_pre,
        meta,
    })
}

pub(crate) fn meta_str(meta: &Value, key: &str) -> Option<String> {
    meta.get(key).and_then(Value::as_str).map(str::to_string)
}
