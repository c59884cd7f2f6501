//! Criterion benchmarks of the vectorize layer and the linear baselines' training, on the
//! hate-speech training split (token lists already in memory).
//! Run: `cargo bench -p rnnlab-benches --bench vectorize` (RNNLAB_DATA_DIR for the real data).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rnnlab_baselines::baseline::{Baseline, BaselineKind, BaselineParams, Vectorizer};
use rnnlab_baselines::LabelSet;
use rnnlab_text::{Lang, Normalize, Pipeline, Preprocessor};

fn bench_vectorize(c: &mut Criterion) {
    let (texts, labels) = rnnlab_benches::train_split("twitter-hate-speech");
    let pre = Preprocessor::new(Pipeline::standard(Lang::En, Normalize::Stem, false, vec![]), None).unwrap();
    let (tokens, _) = pre.process_all(&texts);
    let mut g = c.benchmark_group("vectorize");
    g.sample_size(10);
    g.throughput(Throughput::Elements(tokens.len() as u64));
    for kind in [
        BaselineKind::CountLogreg,
        BaselineKind::HashingLogreg,
        BaselineKind::TfidfLogreg,
    ] {
        let spec = BaselineParams::default().resolve(kind).vectorizer;
        g.bench_function(format!("fit_transform/{}", kind.name()), |b| {
            b.iter(|| Vectorizer::fit_transform(&spec, &tokens).unwrap().1.nnz())
        });
    }
    g.finish();

    let set = LabelSet::fit(&labels, None).unwrap();
    let y = set.encode(&labels, "train").unwrap();
    let mut g = c.benchmark_group("baseline-fit");
    g.sample_size(10);
    for kind in [
        BaselineKind::TfidfLogreg,
        BaselineKind::HashingLogreg,
        BaselineKind::Nbsvm,
    ] {
        g.bench_function(kind.name(), |b| {
            b.iter(|| {
                Baseline::fit(kind, BaselineParams::default(), set.clone(), &tokens, &y)
                    .unwrap()
                    .threshold
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_vectorize);
criterion_main!(benches);
