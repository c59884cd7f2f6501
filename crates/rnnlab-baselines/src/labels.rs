//! Labels as users write them (numbers or strings) and the class indices models use.

use serde::{Deserialize, Serialize};

use crate::Error;

/// The classes of a task: the sorted distinct labels (numerically when every label is a
/// number, so `-1 < 0 < 1` and `9 < 10`), and the positive class of a binary task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelSet {
    pub labels: Vec<String>,
    /// Index of the positive class (binary tasks only): the last label unless chosen.
    pub positive: Option<usize>,
}

impl LabelSet {
    /// Classes from the training labels. `positive` names the positive label of a binary task.
    /// Labels that are all numbers are compared as numbers: `1` and `1.0` are one class (the
    /// first spelling in sorted order names it).
    pub fn fit(train: &[String], positive: Option<&str>) -> Result<Self, Error> {
        let mut labels: Vec<String> = train.to_vec();
        labels.sort();
        labels.dedup();
        if labels.iter().all(|l| number(l).is_some()) {
            let mut seen = Vec::new();
            labels.retain(|l| {
                let v = number(l);
                let new = !seen.contains(&v);
                seen.push(v);
                new
            });
        }
        if labels.len() < 2 {
            return Err(Error::Data(format!(
                "the label column has {} distinct value(s) ({}); a classifier needs at least 2",
                labels.len(),
                labels.join(", ")
            )));
        }
        if labels.iter().all(|l| l.trim().parse::<f64>().is_ok()) {
            labels.sort_by(|a, b| {
                let (x, y) = (
                    a.trim().parse::<f64>().unwrap_or(0.0),
                    b.trim().parse::<f64>().unwrap_or(0.0),
                );
                x.total_cmp(&y)
            });
        }
        let positive = if labels.len() == 2 {
            match positive {
                Some(p) => Some(labels.iter().position(|l| same(l, p)).ok_or_else(|| {
                    Error::Data(format!(
                        "positive label {p:?} is not one of the labels: {}",
                        labels.join(", ")
                    ))
                })?),
                None => Some(1),
            }
        } else {
            if let Some(p) = positive {
                return Err(Error::Data(format!(
                    "--positive-label {p:?}: the task has {} classes ({}); a positive label is for two",
                    labels.len(),
                    labels.join(", ")
                )));
            }
            None
        };
        Ok(LabelSet { labels, positive })
    }

    pub fn n_classes(&self) -> usize {
        self.labels.len()
    }

    pub fn is_binary(&self) -> bool {
        self.labels.len() == 2
    }

    /// Class index of every label; a label unseen in training is an error naming its row.
    pub fn encode(&self, labels: &[String], what: &str) -> Result<Vec<usize>, Error> {
        labels
            .iter()
            .enumerate()
            .map(|(row, l)| {
                self.labels.iter().position(|x| same(x, l)).ok_or_else(|| {
                    Error::Data(format!(
                        "{what}, row {}: label {l:?} was not seen in training (labels: {})",
                        row + 1,
                        self.labels.join(", ")
                    ))
                })
            })
            .collect()
    }
}

/// A label's value when it is a finite number.
fn number(l: &str) -> Option<u64> {
    l.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .map(|v| (v + 0.0).to_bits())
}

/// Whether two labels are the same class: equal, or the same number (`1` and `1.0`).
fn same(a: &str, b: &str) -> bool {
    a == b || number(a).is_some_and(|x| Some(x) == number(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn numeric_and_string_labels() {
        let l = LabelSet::fit(&s(&["1", "-1", "0", "10", "9"]), None).unwrap();
        assert_eq!(l.labels, ["-1", "0", "1", "9", "10"]);
        assert_eq!(l.positive, None);
        let b = LabelSet::fit(&s(&["spam", "ham", "spam"]), None).unwrap();
        assert_eq!(b.labels, ["ham", "spam"]);
        assert_eq!(b.positive, Some(1));
        let b = LabelSet::fit(&s(&["spam", "ham"]), Some("ham")).unwrap();
        assert_eq!(b.positive, Some(0));
        assert!(LabelSet::fit(&s(&["a", "b"]), Some("c")).is_err());
        // Numbers compare as numbers: 1 and 1.0 are one class, whichever a file writes.
        let n = LabelSet::fit(&s(&["1", "0", "1.0", "0.0"]), Some("1.0")).unwrap();
        assert_eq!(n.labels, ["0", "1"]);
        assert_eq!(n.positive, Some(1));
        assert_eq!(n.encode(&s(&["1.0", "0", "1"]), "test").unwrap(), [1, 0, 1]);
        // A positive label on a three-class task is an error, not ignored.
        let e = LabelSet::fit(&s(&["a", "b", "c"]), Some("a")).unwrap_err().to_string();
        assert!(e.contains("--positive-label") && e.contains("3 classes"), "{e}");
    }

    #[test]
    fn one_class_and_unseen_labels_are_errors() {
        let e = LabelSet::fit(&s(&["a", "a"]), None).unwrap_err().to_string();
        assert!(e.contains("1 distinct"), "{e}");
        let l = LabelSet::fit(&s(&["a", "b"]), None).unwrap();
        let e = l.encode(&s(&["a", "z"]), "test.csv").unwrap_err().to_string();
        assert!(e.contains("row 2") && e.contains("\"z\""), "{e}");
    }
}
