//! The units of an encoder-decoder's source or target (characters, words, tags) and their
//! ids: the four reserved by `rnnlab_rnn::seq2seq` first, then the units in first-seen order.

use std::collections::HashMap;

use rnnlab_rnn::seq2seq::{EOS, UNK};

/// `<pad>`, `<unk>`, `<bos>`, `<eos>`: ids 0-3 of every unit vocabulary.
pub const RESERVED: [&str; 4] = ["<pad>", "<unk>", "<bos>", "<eos>"];

/// Units to ids and back.
#[derive(Debug, Clone)]
pub struct UnitVocab {
    pub itos: Vec<String>,
    index: HashMap<String, u32>,
}

impl UnitVocab {
    /// The reserved units, then each unit of `units` once, in first-seen order.
    pub fn fit_units(units: impl IntoIterator<Item = String>) -> Self {
        let mut itos: Vec<String> = RESERVED.iter().map(|s| s.to_string()).collect();
        let mut seen: std::collections::HashSet<String> = itos.iter().cloned().collect();
        for u in units {
            if !seen.contains(&u) {
                seen.insert(u.clone());
                itos.push(u);
            }
        }
        Self::from_units(itos)
    }

    pub fn from_units(itos: Vec<String>) -> Self {
        let index = itos.iter().enumerate().map(|(i, u)| (u.clone(), i as u32)).collect();
        UnitVocab { itos, index }
    }

    pub fn len(&self) -> usize {
        self.itos.len()
    }

    pub fn is_empty(&self) -> bool {
        self.itos.is_empty()
    }

    /// A unit's id (`<unk>` when unknown).
    pub fn id(&self, unit: &str) -> u32 {
        self.index.get(unit).copied().unwrap_or(UNK)
    }

    pub fn encode(&self, units: &[String]) -> Vec<u32> {
        units.iter().map(|u| self.id(u)).collect()
    }

    /// The units of decoded ids, without the reserved ones.
    pub fn decode(&self, ids: &[u32]) -> Vec<String> {
        ids.iter()
            .filter(|&&i| i > EOS)
            .filter_map(|&i| self.itos.get(i as usize).cloned())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_ids_come_first_and_unknown_units_read_as_unk() {
        let v = UnitVocab::fit_units(["b", "a", "b"].map(String::from));
        assert_eq!(v.itos, ["<pad>", "<unk>", "<bos>", "<eos>", "b", "a"]);
        assert_eq!(v.encode(&["a".into(), "z".into()]), vec![5, UNK]);
        assert_eq!(v.decode(&[2, 4, 1, 5, 3]), ["b", "a"]);
        assert_eq!(v.len(), 6);
    }
}
