//! Project automation: `cargo xtask <task>`. It composes the crates and standard tools;
//! nothing here is logic a user of the library needs.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
  fetch-morph-dict [--dir DIR]   install the Russian morphology dictionary (the data of the
                                 PyPI package pymorphy3-dicts-ru, via pip) where rnnlab finds
                                 it by default (printed at the end); needs python3 with pip
  experiment                     not built yet (see README): the baselines-against-RNNs run
";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("fetch-morph-dict") => {
            let dir = match args.get(1).map(String::as_str) {
                Some("--dir") => PathBuf::from(args.get(2).context("--dir needs a value")?),
                Some(other) => bail!("unknown argument {other:?}\n{USAGE}"),
                None => rnnlab_text::morph::install_dir(),
            };
            fetch_morph_dict(&dir)
        }
        Some("experiment") => bail!(
            "`cargo xtask experiment` is not built yet; today the pipeline runs as \
             `cargo run --release -p rnnlab-cli -- preprocess ...` (see README.md)"
        ),
        Some("-h" | "--help") | None => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => bail!("unknown task {other:?}\n{USAGE}"),
    }
}

fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd.status().with_context(|| format!("running {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}

/// Downloads the pinned wheel with pip, unpacks it with Python's zipfile module and copies
/// its `data` folder to `dir`. Does nothing when `dir` already holds a dictionary.
fn fetch_morph_dict(dir: &Path) -> Result<()> {
    if dir.join("words.dawg").is_file() && dir.join("meta.json").is_file() {
        println!("morphology dictionary already installed: {}", dir.display());
        return Ok(());
    }
    let tmp = std::env::temp_dir().join(format!("rnnlab-morph-{}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    run(Command::new(&python).args(["-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", "-d"])
        .arg(&tmp)
        .arg(rnnlab_text::morph::DEFAULT_DICT_PACKAGE))?;
    let wheel = std::fs::read_dir(&tmp)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|e| e == "whl"))
        .context("pip downloaded no wheel")?;
    let unpacked = tmp.join("unpacked");
    run(Command::new(&python).args(["-m", "zipfile", "-e"]).arg(&wheel).arg(&unpacked))?;
    let data = unpacked.join("pymorphy3_dicts_ru").join("data");
    if !data.join("words.dawg").is_file() {
        bail!("{} has no pymorphy3_dicts_ru/data/words.dawg", wheel.display());
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for entry in std::fs::read_dir(&data)? {
        let entry = entry?;
        std::fs::copy(entry.path(), dir.join(entry.file_name()))
            .with_context(|| format!("copying {} to {}", entry.path().display(), dir.display()))?;
    }
    std::fs::remove_dir_all(&tmp).ok();
    println!("morphology dictionary installed: {}", dir.display());
    Ok(())
}
