//! Criterion benchmarks of the recurrent layers: a whole training step and an inference pass at
//! the shape of `../shared/anchors/rnn_speed.py` (batch 128, length 15, embedding 64, hidden 64,
//! vocabulary 11,051), and one layer's forward + backward, fused against the candle-op reference.
//! Run: `cargo bench -p rnnlab-benches --bench recurrent`. For the side-by-side ratio against
//! PyTorch use `rnnlab bench train-step|infer` and `rnn_speed.py` (README, "Speed").

use candle_core::{Device, Tensor, Var};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rnnlab_kernels::recurrent::{Kernel, RecurrentStack};
use rnnlab_kernels::Rng;
use rnnlab_rnn::speed::SpeedShape;
use rnnlab_rnn::CellKind;

/// As in the `rnnlab` binary (glibc's allocator re-faults every large temporary).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CELLS: [CellKind; 3] = [CellKind::Rnn, CellKind::Lstm, CellKind::Gru];

fn bench_steps(c: &mut Criterion) {
    let dev = Device::Cpu;
    let mut g = c.benchmark_group("train-step");
    g.sample_size(20);
    g.throughput(Throughput::Elements(128));
    let mut shapes: Vec<(String, SpeedShape)> = CELLS
        .iter()
        .map(|&cell| {
            (
                cell.name().to_string(),
                SpeedShape {
                    cell,
                    ..SpeedShape::default()
                },
            )
        })
        .collect();
    shapes.push((
        "lstm-2-layers-bidirectional".into(),
        SpeedShape {
            layers: 2,
            bidirectional: true,
            ..SpeedShape::default()
        },
    ));
    for (name, shape) in &shapes {
        let mut bench = shape.train_bench(&dev).unwrap();
        g.bench_function(name.as_str(), |b| b.iter(|| bench.step().unwrap()));
    }
    g.finish();

    let mut g = c.benchmark_group("infer");
    g.throughput(Throughput::Elements(128));
    for (name, shape) in &shapes[..3] {
        let bench = shape.infer_bench(&dev).unwrap();
        g.bench_function(name.as_str(), |b| b.iter(|| bench.run().unwrap()));
    }
    g.finish();
}

/// One layer (LSTM and GRU), forward and backward through a weighted sum of its outputs.
fn bench_layer(c: &mut Criterion) {
    let dev = Device::Cpu;
    let (batch, steps, width) = (128, 15, 64);
    let mut rng = Rng::new(1);
    let data: Vec<f32> = (0..batch * steps * width).map(|_| rng.symmetric(1.0)).collect();
    let x = Var::from_tensor(&Tensor::from_vec(data, (batch, steps, width), &dev).unwrap()).unwrap();
    let lengths = vec![steps; batch];
    let mut g = c.benchmark_group("layer-forward-backward");
    g.sample_size(20);
    g.throughput(Throughput::Elements(batch as u64));
    for cell in [CellKind::Lstm, CellKind::Gru] {
        let stack = RecurrentStack::new(cell, width, 64, 1, false, &mut Rng::new(2), &dev).unwrap();
        for (name, kernel) in [("fused", Kernel::Auto), ("reference", Kernel::Reference)] {
            g.bench_function(format!("{}/{name}", cell.name()), |b| {
                b.iter(|| {
                    let (out, _) = stack.forward_with(kernel, x.as_tensor(), &lengths, true, None).unwrap();
                    out.sum_all().unwrap().backward().unwrap()
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench_steps, bench_layer);
criterion_main!(benches);
