//! Shared inputs for the criterion benchmarks: real texts when the data folder is there,
//! else a small built-in sample (so `cargo bench` runs anywhere).

use std::path::PathBuf;

/// RNNLAB_DATA_DIR, else ../shared/data next to the workspace root.
pub fn data_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("RNNLAB_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"));
    dir.is_dir().then_some(dir)
}

/// Texts of a named data set, or a fallback sample of the same language.
pub fn texts(dataset: &str) -> Vec<String> {
    if let Some(dir) = data_dir() {
        if let Ok(spec) = rnnlab_text::dataset::find_dataset(dataset) {
            if let Ok(ds) = rnnlab_text::dataset::load_named(&spec, &dir) {
                return ds.texts;
            }
        }
    }
    eprintln!("notice: no data folder; benchmarking a built-in sample");
    let sample = if dataset.starts_with("sentirueval") {
        "RT @user: Сбербанк опять не работает, уезжаааю в другой банк :( http://t.co/x #банки"
    } else {
        "@user when a father is dysfunctional &amp; so selfish he drags his kids into it #run ð\u{9f}\u{98}\u{80}"
    };
    vec![sample.to_string(); 5000]
}

/// Texts and labels of a data set's training split, or a small labelled sample.
pub fn train_split(dataset: &str) -> (Vec<String>, Vec<String>) {
    if let Some(dir) = data_dir() {
        if let Ok(spec) = rnnlab_text::dataset::find_dataset(dataset) {
            if let Ok(ds) = rnnlab_text::dataset::load_named(&spec, &dir) {
                let rows: Vec<usize> = (0..ds.len())
                    .filter(|&i| ds.splits[i] == rnnlab_text::dataset::Split::Train)
                    .collect();
                return (
                    rows.iter().map(|&i| ds.texts[i].clone()).collect(),
                    rows.iter().map(|&i| ds.labels[i].clone()).collect(),
                );
            }
        }
    }
    eprintln!("notice: no data folder; benchmarking a built-in sample");
    let texts = texts(dataset);
    let labels = (0..texts.len()).map(|i| (i % 2).to_string()).collect();
    (texts, labels)
}
