//! Weights in the safetensors format (f32, named like PyTorch's `state_dict`).

use std::collections::HashMap;
use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use crate::Error;

/// A tensor as (shape, values).
pub type Tensor = (Vec<usize>, Vec<f32>);

/// A named tensor as (name, shape, values).
pub type NamedTensor = (String, Vec<usize>, Vec<f32>);

/// Writes named f32 tensors `(name, shape, values)` to `path`.
pub fn save(path: &Path, tensors: &[NamedTensor]) -> Result<(), Error> {
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(n, s, v)| (n.clone(), s.clone(), v.iter().flat_map(|x| x.to_le_bytes()).collect()))
        .collect();
    let views = bytes
        .iter()
        .map(|(n, s, b)| {
            TensorView::new(Dtype::F32, s.clone(), b)
                .map(|v| (n.clone(), v))
                .map_err(|e| Error::Format(format!("tensor {n}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let data =
        safetensors::tensor::serialize(views, None).map_err(|e| Error::Format(format!("{}: {e}", path.display())))?;
    crate::files::write_atomic(path, &data).map_err(|e| Error::io(path, e))
}

/// Reads every f32 tensor of a safetensors file: name → (shape, values).
pub fn load(path: &Path) -> Result<HashMap<String, Tensor>, Error> {
    crate::files::check_regular(path, crate::files::MAX_WEIGHTS_BYTES)?;
    let data = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let st = SafeTensors::deserialize(&data).map_err(|e| Error::Format(format!("{}: {e}", path.display())))?;
    let mut out = HashMap::new();
    for (name, view) in st.tensors() {
        if view.dtype() != Dtype::F32 {
            return Err(Error::Format(format!(
                "{}: tensor {name} is {:?}, expected F32",
                path.display(),
                view.dtype()
            )));
        }
        let values = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        out.insert(name, (view.shape().to_vec(), values));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        let p = std::env::temp_dir().join(format!("rnnlab-tensors-{}.safetensors", std::process::id()));
        save(&p, &[("a.weight".into(), vec![2, 2], vec![1.0, 2.0, 3.0, 4.0])]).unwrap();
        let t = load(&p).unwrap();
        assert_eq!(t["a.weight"], (vec![2, 2], vec![1.0, 2.0, 3.0, 4.0]));
        std::fs::write(&p, b"not a tensor file").unwrap();
        assert!(load(&p).is_err());
        std::fs::remove_file(&p).ok();
    }
}
