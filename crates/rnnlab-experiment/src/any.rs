//! Any trained model directory, baseline or recurrent, behind one interface for `eval`,
//! `predict` and reports.

use std::path::Path;

use candle_core::Device;

use crate::blend::Blend;
use crate::train::ModelKind;
use rnnlab_baselines::baseline::Baseline;
use rnnlab_baselines::fasttext::FastText;
use rnnlab_baselines::labels::LabelSet;
use rnnlab_rnn::{Error, RnnModel};

pub enum AnyModel {
    Baseline(Box<Baseline>),
    FastText(Box<FastText>),
    Rnn(Box<RnnModel>),
    Blend(Box<Blend>),
}

impl AnyModel {
    /// Loads the directory written by `rnnlab train`, whatever its kind. `meta` is what the
    /// trainer kept with the model (data columns, language).
    pub fn load(dir: &Path, device: &Device) -> Result<(Self, serde_json::Value), Error> {
        let path = dir.join("model.json");
        if !path.is_file() {
            return Err(Error::Data(format!(
                "{} is not a model directory (no model.json)",
                dir.display()
            )));
        }
        let v: serde_json::Value = rnnlab_baselines::baseline::read_json(&path)?;
        rnnlab_baselines::check_format_version(&path, &v)?;
        let kind = v.get("kind").and_then(|k| k.as_str()).unwrap_or_default();
        if kind == "blend" {
            let (m, card) = Blend::load(dir, device)?;
            Ok((AnyModel::Blend(Box::new(m)), card.meta))
        } else if ModelKind::from_name(kind) == Some(ModelKind::FastText) {
            let (m, card) = FastText::load(dir)?;
            Ok((AnyModel::FastText(Box::new(m)), card.meta))
        } else if ModelKind::from_name(kind).is_some_and(ModelKind::is_network) {
            let (m, card) = RnnModel::load(dir, device)?;
            Ok((AnyModel::Rnn(Box::new(m)), card.meta))
        } else {
            let (m, card) = Baseline::load(dir)?;
            Ok((AnyModel::Baseline(Box::new(m)), card.meta))
        }
    }

    pub fn predict_proba(&self, docs: &[Vec<String>]) -> Result<Vec<Vec<f32>>, Error> {
        match self {
            AnyModel::Baseline(m) => Ok(m.predict_proba(docs)?),
            AnyModel::FastText(m) => Ok(m.predict_proba(docs)?),
            AnyModel::Rnn(m) => m.predict_proba(docs),
            AnyModel::Blend(m) => m.predict_proba(docs),
        }
    }

    pub fn labels(&self) -> &LabelSet {
        match self {
            AnyModel::Baseline(m) => &m.labels,
            AnyModel::FastText(m) => &m.labels,
            AnyModel::Rnn(m) => &m.labels,
            AnyModel::Blend(m) => m.labels(),
        }
    }

    pub fn threshold(&self) -> Option<f64> {
        match self {
            AnyModel::Baseline(m) => m.threshold,
            AnyModel::FastText(m) => m.threshold,
            AnyModel::Rnn(m) => m.threshold,
            AnyModel::Blend(m) => m.threshold,
        }
    }
}
