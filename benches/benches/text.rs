//! Criterion benchmarks of the text layer: tokenizer, filters, stemmer and lemmatiser.
//! Run: `cargo bench -p rnnlab-benches --bench text` (RNNLAB_DATA_DIR for the real data).

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rnnlab_text::morph::Lemmatizer;
use rnnlab_text::tokenize::{tokenize, TokenizerConfig};
use rnnlab_text::{Lang, Normalize, Pipeline, Preprocessor};

fn bench_text(c: &mut Criterion) {
    let en = rnnlab_benches::texts("twitter-hate-speech");
    let ru = rnnlab_benches::texts("sentirueval2015-banks");
    let cfg = TokenizerConfig::default();

    let mut g = c.benchmark_group("text");
    g.sample_size(10);
    g.throughput(Throughput::Elements(en.len() as u64));
    g.bench_function("tokenize/hate-speech", |b| {
        b.iter(|| en.iter().map(|t| tokenize(t, &cfg).len()).sum::<usize>())
    });
    let filters_only = Preprocessor::new(Pipeline::standard(Lang::En, Normalize::None, false, vec![]), None).unwrap();
    g.bench_function("repair+tokenize+filters/hate-speech", |b| {
        b.iter(|| filters_only.process_all(&en).1.tokens)
    });
    let stem = Preprocessor::new(Pipeline::standard(Lang::En, Normalize::Stem, false, vec![]), None).unwrap();
    g.bench_function("pipeline-stem/hate-speech", |b| {
        b.iter(|| stem.process_all(&en).1.tokens)
    });

    match rnnlab_text::morph::default_dict_dir() {
        Ok(dir) => {
            g.throughput(Throughput::Elements(ru.len() as u64));
            let pipeline = Pipeline::standard(Lang::Ru, Normalize::Lemmatize, false, vec![]);
            g.bench_function("pipeline-lemmatize-cold/banks", |b| {
                b.iter_batched(
                    || Preprocessor::new(pipeline.clone(), Some(Arc::new(Lemmatizer::load(&dir).unwrap()))).unwrap(),
                    |pre| pre.process_all(&ru).1.tokens,
                    criterion::BatchSize::PerIteration,
                )
            });
            let words: Vec<String> = {
                let plain =
                    Preprocessor::new(Pipeline::standard(Lang::Ru, Normalize::None, false, vec![]), None).unwrap();
                let mut w: Vec<String> = plain.process_all(&ru).0.into_iter().flatten().collect();
                w.sort();
                w.dedup();
                w
            };
            let lem = Lemmatizer::load(&dir).unwrap();
            g.throughput(Throughput::Elements(words.len() as u64));
            g.bench_function("lemmatiser-uncached/distinct-banks-words", |b| {
                b.iter(|| words.iter().map(|w| lem.analyzer().lemma(w).len()).sum::<usize>())
            });
        }
        Err(e) => eprintln!("notice: lemmatiser benchmarks skipped: {e}"),
    }
    g.finish();
}

criterion_group!(benches, bench_text);
criterion_main!(benches);
