//! A compressed sparse row matrix of `f32`, the output of every vectorizer.

use serde::{Deserialize, Serialize};

use crate::Error;

/// Rows of (column, value) pairs, columns strictly increasing within a row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CsrMatrix {
    n_rows: usize,
    n_cols: usize,
    indptr: Vec<usize>,
    indices: Vec<u32>,
    data: Vec<f32>,
}

impl CsrMatrix {
    /// Builds a matrix from its parts, checking every invariant.
    pub fn new(n_cols: usize, indptr: Vec<usize>, indices: Vec<u32>, data: Vec<f32>) -> Result<Self, Error> {
        if indptr.is_empty() || indptr[0] != 0 {
            return Err(Error::Shape("indptr must start with 0".into()));
        }
        if *indptr.last().unwrap_or(&0) != indices.len() || indices.len() != data.len() {
            return Err(Error::Shape(format!(
                "indptr ends at {}, but there are {} indices and {} values",
                indptr.last().unwrap_or(&0),
                indices.len(),
                data.len()
            )));
        }
        for w in indptr.windows(2) {
            if w[0] > w[1] {
                return Err(Error::Shape("indptr must not decrease".into()));
            }
            let row = &indices[w[0]..w[1]];
            if row.iter().any(|&c| c as usize >= n_cols) {
                return Err(Error::Shape(format!("a column index is not below n_cols = {n_cols}")));
            }
            if row.windows(2).any(|p| p[0] >= p[1]) {
                return Err(Error::Shape("column indices must increase within a row".into()));
            }
        }
        Ok(CsrMatrix {
            n_rows: indptr.len() - 1,
            n_cols,
            indptr,
            indices,
            data,
        })
    }

    /// Builds a matrix from rows of (column, value) pairs in any order; duplicate columns
    /// are summed and explicit zeros dropped.
    pub fn from_rows(n_cols: usize, rows: Vec<Vec<(u32, f32)>>) -> Result<Self, Error> {
        let mut indptr = Vec::with_capacity(rows.len() + 1);
        let nnz: usize = rows.iter().map(Vec::len).sum();
        let mut indices = Vec::with_capacity(nnz);
        let mut data = Vec::with_capacity(nnz);
        indptr.push(0);
        for mut row in rows {
            if row.windows(2).any(|w| w[0].0 >= w[1].0) {
                row.sort_unstable_by_key(|&(c, _)| c);
            }
            let mut last: Option<u32> = None;
            for (c, v) in row {
                if last == Some(c) {
                    *data.last_mut().expect("a previous value") += v;
                } else {
                    indices.push(c);
                    data.push(v);
                    last = Some(c);
                }
            }
            indptr.push(indices.len());
        }
        let mut m = Self::new(n_cols, indptr, indices, data)?;
        m.drop_zeros();
        Ok(m)
    }

    fn drop_zeros(&mut self) {
        if !self.data.contains(&0.0) {
            return;
        }
        let mut indptr = Vec::with_capacity(self.indptr.len());
        let mut indices = Vec::with_capacity(self.indices.len());
        let mut data = Vec::with_capacity(self.data.len());
        indptr.push(0);
        for r in 0..self.n_rows {
            let (cols, vals) = self.row(r);
            for (&c, &v) in cols.iter().zip(vals) {
                if v != 0.0 {
                    indices.push(c);
                    data.push(v);
                }
            }
            indptr.push(indices.len());
        }
        self.indptr = indptr;
        self.indices = indices;
        self.data = data;
    }

    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    pub fn n_cols(&self) -> usize {
        self.n_cols
    }

    /// Number of stored values.
    pub fn nnz(&self) -> usize {
        self.data.len()
    }

    /// The columns and values of row `r`.
    pub fn row(&self, r: usize) -> (&[u32], &[f32]) {
        let (a, b) = (self.indptr[r], self.indptr[r + 1]);
        (&self.indices[a..b], &self.data[a..b])
    }

    /// Mutable values of row `r`.
    pub fn row_values_mut(&mut self, r: usize) -> &mut [f32] {
        let (a, b) = (self.indptr[r], self.indptr[r + 1]);
        &mut self.data[a..b]
    }

    pub fn indptr(&self) -> &[usize] {
        &self.indptr
    }

    pub fn indices(&self) -> &[u32] {
        &self.indices
    }

    pub fn data(&self) -> &[f32] {
        &self.data
    }

    pub fn data_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }

    /// Checks that a consumer expecting `n_cols` features gets them.
    pub fn expect_cols(&self, n_cols: usize, what: &str) -> Result<(), Error> {
        if self.n_cols != n_cols {
            return Err(Error::Shape(format!(
                "{what} expects {n_cols} features, the matrix has {}",
                self.n_cols
            )));
        }
        Ok(())
    }

    /// Scales every row to unit norm (rows of zeros stay zero).
    pub fn normalize_rows(&mut self, norm: Norm) {
        if norm == Norm::None {
            return;
        }
        for r in 0..self.n_rows {
            let vals = self.row_values_mut(r);
            let n: f64 = match norm {
                Norm::L1 => vals.iter().map(|v| v.abs() as f64).sum(),
                Norm::L2 => vals.iter().map(|v| (*v as f64) * (*v as f64)).sum::<f64>().sqrt(),
                Norm::None => 1.0,
            };
            if n > 0.0 {
                for v in vals {
                    *v = (*v as f64 / n) as f32;
                }
            }
        }
    }

    /// Calls `f(columns, values)` on every row in parallel, values mutable.
    pub fn par_rows_mut(&mut self, f: impl Fn(&[u32], &mut [f32]) + Sync) {
        use rayon::prelude::*;
        let mut rows: Vec<(&[u32], &mut [f32])> = Vec::with_capacity(self.n_rows);
        let mut rest: &mut [f32] = &mut self.data;
        for w in self.indptr.windows(2) {
            let (row, tail) = std::mem::take(&mut rest).split_at_mut(w[1] - w[0]);
            rows.push((&self.indices[w[0]..w[1]], row));
            rest = tail;
        }
        rows.into_par_iter().with_min_len(256).for_each(|(c, v)| f(c, v));
    }

    /// Multiplies column `c` by `scale[c]`.
    pub fn scale_columns(&mut self, scale: &[f32]) {
        for (v, &c) in self.data.iter_mut().zip(&self.indices) {
            *v *= scale[c as usize];
        }
    }

    /// Rows `rows`, in that order, as a new matrix.
    pub fn select_rows(&self, rows: &[usize]) -> CsrMatrix {
        let mut indptr = Vec::with_capacity(rows.len() + 1);
        let mut indices = Vec::new();
        let mut data = Vec::new();
        indptr.push(0);
        for &r in rows {
            let (c, v) = self.row(r);
            indices.extend_from_slice(c);
            data.extend_from_slice(v);
            indptr.push(indices.len());
        }
        CsrMatrix {
            n_rows: rows.len(),
            n_cols: self.n_cols,
            indptr,
            indices,
            data,
        }
    }

    /// The transpose (the CSC form of this matrix), for column-wise passes.
    pub fn transpose(&self) -> CsrMatrix {
        let mut counts = vec![0usize; self.n_cols + 1];
        for &c in &self.indices {
            counts[c as usize + 1] += 1;
        }
        for i in 0..self.n_cols {
            counts[i + 1] += counts[i];
        }
        let indptr = counts.clone();
        let mut next = counts;
        let mut indices = vec![0u32; self.nnz()];
        let mut data = vec![0f32; self.nnz()];
        for r in 0..self.n_rows {
            let (cols, vals) = self.row(r);
            for (&c, &v) in cols.iter().zip(vals) {
                let at = next[c as usize];
                indices[at] = r as u32;
                data[at] = v;
                next[c as usize] += 1;
            }
        }
        CsrMatrix {
            n_rows: self.n_cols,
            n_cols: self.n_rows,
            indptr,
            indices,
            data,
        }
    }

    /// A dense copy (for tests and small matrices).
    pub fn to_dense(&self) -> Vec<Vec<f32>> {
        (0..self.n_rows)
            .map(|r| {
                let mut row = vec![0.0; self.n_cols];
                let (c, v) = self.row(r);
                for (&c, &v) in c.iter().zip(v) {
                    row[c as usize] = v;
                }
                row
            })
            .collect()
    }
}

/// Row normalisation, as scikit-learn's `norm` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Norm {
    L1,
    #[default]
    L2,
    None,
}

impl std::str::FromStr for Norm {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "l1" => Ok(Norm::L1),
            "l2" => Ok(Norm::L2),
            "none" | "None" => Ok(Norm::None),
            _ => Err(Error::Param(format!("norm must be l1, l2 or none, not {s:?}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_rows_sums_duplicates_and_sorts() {
        let m = CsrMatrix::from_rows(4, vec![vec![(3, 1.0), (1, 2.0), (3, 1.0)], vec![], vec![(0, 0.0)]]).unwrap();
        assert_eq!(m.n_rows(), 3);
        assert_eq!(m.row(0), (&[1u32, 3][..], &[2.0f32, 2.0][..]));
        assert_eq!(m.row(1).0.len(), 0);
        assert_eq!(m.nnz(), 2, "explicit zeros are dropped");
    }

    #[test]
    fn invariants_are_checked() {
        assert!(CsrMatrix::new(2, vec![0, 1], vec![5], vec![1.0]).is_err());
        assert!(CsrMatrix::new(2, vec![0, 2], vec![1, 0], vec![1.0, 1.0]).is_err());
        assert!(CsrMatrix::new(2, vec![1], vec![], vec![]).is_err());
        assert!(CsrMatrix::new(2, vec![0, 1], vec![1], vec![1.0]).is_ok());
        let m = CsrMatrix::new(2, vec![0, 1], vec![1], vec![1.0]).unwrap();
        assert!(m.expect_cols(3, "model").is_err());
    }

    #[test]
    fn transpose_twice_is_identity() {
        let m = CsrMatrix::from_rows(3, vec![vec![(0, 1.0), (2, 2.0)], vec![(1, 3.0)], vec![]]).unwrap();
        let t = m.transpose();
        assert_eq!(t.n_rows(), 3);
        assert_eq!(t.n_cols(), 3);
        assert_eq!(t.row(2), (&[0u32][..], &[2.0f32][..]));
        assert_eq!(t.transpose(), m);
    }

    #[test]
    fn normalisation() {
        let mut m = CsrMatrix::from_rows(3, vec![vec![(0, 3.0), (2, 4.0)], vec![]]).unwrap();
        m.normalize_rows(Norm::L2);
        assert_eq!(m.row(0).1, &[0.6, 0.8]);
        let mut m = CsrMatrix::from_rows(3, vec![vec![(0, 1.0), (2, -3.0)]]).unwrap();
        m.normalize_rows(Norm::L1);
        assert_eq!(m.row(0).1, &[0.25, -0.75]);
    }
}
