//! The recurrent layers against PyTorch: weights, a ragged batch, outputs, final states and
//! gradients written by `tests/fixtures/make_torch_rnn_fixture.py` (PyTorch 2.15,
//! `pack_padded_sequence`, 2 layers, bidirectional).

use candle_core::{Device, Tensor};
use rnnlab_kernels::recurrent::RecurrentStack;
use rnnlab_kernels::CellKind;
use rnnlab_kernels::Rng;
use serde_json::Value;

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn assert_close(what: &str, ours: &[f32], theirs: &[f32], tol: f32) {
    assert_eq!(ours.len(), theirs.len(), "{what}: lengths");
    for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
        assert!((a - b).abs() <= tol, "{what}[{i}]: ours {a}, PyTorch {b}");
    }
}

#[test]
fn layers_match_pytorch_forward_and_backward() {
    let fx: Value = serde_json::from_str(include_str!("fixtures/torch_rnn.json")).unwrap();
    let (i, h) = (
        fx["input"].as_u64().unwrap() as usize,
        fx["hidden"].as_u64().unwrap() as usize,
    );
    let lengths: Vec<usize> = fx["lengths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    let (b, t) = (lengths.len(), 5);
    let x = Tensor::from_vec(floats(&fx["x"]), (b, t, i), &Device::Cpu).unwrap();
    let r = Tensor::from_vec(floats(&fx["r"]), (b, t, 2 * h), &Device::Cpu).unwrap();
    for cell in [CellKind::Rnn, CellKind::Lstm, CellKind::Gru] {
        let f = &fx[cell.name()];
        let stack = RecurrentStack::new(cell, i, h, 2, true, &mut Rng::new(9), &Device::Cpu).unwrap();
        for (name, var) in stack.named_vars() {
            let w = &f["weights"][&name];
            let shape: Vec<usize> = w["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as usize)
                .collect();
            assert_eq!(shape, var.dims(), "{name}");
            var.set(&Tensor::from_vec(floats(&w["data"]), shape, &Device::Cpu).unwrap())
                .unwrap();
        }
        let (out, last) = stack.forward(&x, &lengths, true, None).unwrap();
        let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_close(
            &format!("{} output", cell.name()),
            &flat(&out),
            &floats(&f["output"]),
            1e-5,
        );
        assert_close(
            &format!("{} last", cell.name()),
            &flat(&last),
            &floats(&f["last"]),
            1e-5,
        );
        let grads = (out * &r).unwrap().sum_all().unwrap().backward().unwrap();
        for (name, var) in stack.named_vars() {
            let g = grads
                .get(var.as_tensor())
                .unwrap_or_else(|| panic!("{name}: no gradient"));
            assert_close(
                &format!("{} d{name}", cell.name()),
                &flat(g),
                &floats(&f["grads"][&name]),
                1e-4,
            );
        }
    }
}
