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
  compare-preprocess [--venv DIR] [--data-dir DIR]
                                 rnnlab's preprocessing against the seed pipeline of
                                 ../shared/anchors (pandas + stop-words + Snowball / pymorphy3),
                                 side by side in one run; one JSON line per data set with the
                                 ratio (venv: ../shared/anchors/setup.sh, default /tmp/anchor-venv)
  compare-baselines [--venv DIR] [--data-dir DIR]
                                 every baseline kind on the three data sets against the seed
                                 pipeline's scikit-learn baselines, in one run: a Markdown table
                                 of test F1 / macro-F1 and of vectorize / train seconds
  compare-rnn-speed [--venv DIR] [--device cpu|cuda] [--extra-shape]
                                 `rnnlab bench train-step|infer` against PyTorch's
                                 ../shared/anchors/rnn_speed.py, alternating in one run, for rnn,
                                 lstm, gru and the 2-layer bidirectional LSTM at batch 128, len 15,
                                 emb 64, hidden 64: a Markdown table of docs/s and ratios
                                 (--extra-shape adds batch 1024, hidden 512)
  cuda-build [--dir DIR]         the `cuda` build of rnnlab: installs NVIDIA's CUDA 13.0 compiler,
                                 headers and libraries from PyPI wheels into DIR (default
                                 target/cuda-toolkit; about 1 GB), adds the unversioned library
                                 links and a driver stub (libcuda.so) the linker needs, and runs
                                 `cargo build --release --features cuda -p rnnlab-cli` with
                                 target/cuda as its target folder (CUDA_COMPUTE_CAP, default 90)
  gpu-pack [--data-dir DIR]      what scripts/gpu-check.sh needs on a lent GPU machine, in
                                 target/gpu-carry (ignored by git, under the 64 MiB carry limit):
                                 the cuda build's rnnlab stripped and xz-compressed, the
                                 hate-speech data folder, the anchors' rnn_speed.py; prints the
                                 device command to run
  experiment [FLAGS]             the main job: bag-of-words baselines against recurrent networks
                                 on one data set (default: the built-in synthetic `demo` corpus),
                                 with a report in reports/<dataset>-<time>/; builds the release
                                 `rnnlab` and runs `rnnlab experiment FLAGS` (see its --help:
                                 --dataset NAME --data-dir DIR --models K,.. --seeds N --quick
                                 --reference FILE.jsonl --out DIR)
";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("fetch-morph-dict") => {
            let dir = match args.get(1).map(String::as_str) {
                Some("--dir") => PathBuf::from(args.get(2).context("--dir needs a value")?),
                Some(other) => bail!("unknown argument {other:?}\n{USAGE}"),
                None => install_dir(),
            };
            fetch_morph_dict(&dir)
        }
        Some("compare-preprocess") => {
            let (venv, data_dir) = venv_and_data(&args[1..])?;
            compare_preprocess(&venv, &data_dir)
        }
        Some("compare-baselines") => {
            let (venv, data_dir) = venv_and_data(&args[1..])?;
            compare_baselines(&venv, &data_dir)
        }
        Some("cuda-build") => {
            let dir = match args.get(1).map(String::as_str) {
                Some("--dir") => PathBuf::from(args.get(2).context("--dir needs a value")?),
                Some(other) => bail!("unknown argument {other:?}\n{USAGE}"),
                None => workspace_root().join("target").join("cuda-toolkit"),
            };
            cuda_build(&dir)
        }
        Some("gpu-pack") => {
            let (_, data_dir) = venv_and_data(&args[1..])?;
            gpu_pack(&data_dir)
        }
        Some("compare-rnn-speed") => {
            let mut venv = PathBuf::from("/tmp/anchor-venv");
            let mut device = "cpu".to_string();
            let mut extra = false;
            let mut rest = args[1..].iter();
            while let Some(a) = rest.next() {
                match a.as_str() {
                    "--venv" => venv = PathBuf::from(rest.next().context("--venv needs a value")?),
                    "--device" => device = rest.next().context("--device needs a value")?.clone(),
                    "--extra-shape" => extra = true,
                    other => bail!("unknown argument {other:?}\n{USAGE}"),
                }
            }
            compare_rnn_speed(&venv, &device, extra)
        }
        Some("experiment") => {
            let rnnlab = release_rnnlab(&workspace_root())?;
            let status = Command::new(&rnnlab)
                .arg("experiment")
                .args(&args[1..])
                .status()
                .with_context(|| format!("running {}", rnnlab.display()))?;
            std::process::exit(status.code().unwrap_or(1));
        }
        Some("-h" | "--help") | None => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => bail!("unknown task {other:?}\n{USAGE}"),
    }
}

/// The dictionary package; the same as `rnnlab_text::morph::DEFAULT_DICT_PACKAGE` (a test
/// checks it).
const DICT_PACKAGE: &str = "pymorphy3-dicts-ru==2.4.417150.4580142";

/// Where rnnlab looks for the dictionary by default; the same rule as
/// `rnnlab_text::morph::install_dir` (a test checks it).
fn install_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("RNNLAB_HOME") {
        return PathBuf::from(home).join("morph").join("ru");
    }
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local").join("share")))
        .unwrap_or_else(|| PathBuf::from("."));
    data.join("rnnlab").join("morph").join("ru")
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
    run(Command::new(&python)
        .args([
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            "-d",
        ])
        .arg(&tmp)
        .arg(DICT_PACKAGE))?;
    let wheel = std::fs::read_dir(&tmp)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|e| e == "whl"))
        .context("pip downloaded no wheel")?;
    let unpacked = tmp.join("unpacked");
    run(Command::new(&python)
        .args(["-m", "zipfile", "-e"])
        .arg(&wheel)
        .arg(&unpacked))?;
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

/// The checkout this run belongs to: the nearest folder at or above the current one whose
/// `Cargo.toml` holds `[workspace]`, else where xtask was compiled. Found at run time because a
/// shared `CARGO_TARGET_DIR` hands one checkout's xtask binary to another.
fn workspace_root() -> PathBuf {
    let is_root = |d: &Path| {
        std::fs::read_to_string(d.join("Cargo.toml")).is_ok_and(|t| t.lines().any(|l| l.trim() == "[workspace]"))
    };
    if let Ok(cwd) = std::env::current_dir() {
        if let Some(d) = cwd.ancestors().find(|d| is_root(d)) {
            return d.to_path_buf();
        }
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    root.canonicalize().unwrap_or(root)
}

fn capture(cmd: &mut Command) -> Result<String> {
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Builds the `rnnlab` binary in release mode and returns its path.
fn release_rnnlab(root: &Path) -> Result<PathBuf> {
    run(Command::new("cargo")
        .current_dir(root)
        .args(["build", "--release", "--quiet", "-p", "rnnlab-cli"]))?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    Ok(target.join("release").join("rnnlab"))
}

/// The Python of the anchors' environment (`../shared/anchors/setup.sh DIR`).
fn anchor_python(venv: &Path) -> Result<PathBuf> {
    let python = venv.join("bin").join("python");
    if !python.is_file() {
        bail!(
            "no anchor environment at {}: run ../shared/anchors/setup.sh {}",
            venv.display(),
            venv.display()
        );
    }
    Ok(python)
}

fn json_number(line: &str, key: &str) -> Option<f64> {
    let at = line.find(&format!("\"{key}\":"))? + key.len() + 3;
    let rest = line[at..].trim_start();
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    rest[..end].trim().parse().ok()
}

/// Runs `rnnlab bench preprocess`, a whole `rnnlab preprocess` process and the seed
/// pipeline's preprocessing stage, alternately, and prints the ratios.
fn compare_preprocess(venv: &Path, data_dir: &Path) -> Result<()> {
    let root = workspace_root();
    let rnnlab = release_rnnlab(&root)?;
    let python = anchor_python(venv)?;
    let anchors = root.join("../shared/anchors");
    let data = data_dir
        .canonicalize()
        .with_context(|| format!("data folder {}", data_dir.display()))?;
    for (dataset, anchor_name, normalize) in [
        ("twitter-hate-speech", "hate", "--stem"),
        ("sentirueval2015-banks", "banks", "--lemmatize"),
    ] {
        let ours = capture(
            Command::new(&rnnlab)
                .args(["bench", "preprocess", "--dataset", dataset, normalize])
                .arg("--data-dir")
                .arg(&data),
        )?;
        let seed = capture(
            Command::new(&python)
                .arg(anchors.join("seed_pipeline.py"))
                .arg("--data")
                .arg(&data)
                .args(["--dataset", anchor_name, "--stage", "preprocess"]),
        )?;
        let out_file = std::env::temp_dir().join(format!("rnnlab-compare-{dataset}.csv"));
        let t0 = std::time::Instant::now();
        capture(
            Command::new(&rnnlab)
                .args(["-q", "preprocess", "--dataset", dataset, normalize])
                .arg("--data-dir")
                .arg(&data)
                .arg("--output")
                .arg(&out_file),
        )?;
        let process_s = t0.elapsed().as_secs_f64();
        std::fs::remove_file(&out_file).ok();
        let ours_dps = json_number(&ours, "docs_per_s").context("bench output has docs_per_s")?;
        let docs = json_number(&ours, "docs").context("bench output has docs")?;
        let seed_dps = json_number(&seed, "docs_per_s").context("anchor output has docs_per_s")?;
        let process_dps = docs / process_s;
        println!(
            "{{\"dataset\":\"{dataset}\",\"normalize\":\"{}\",\"docs\":{docs},\"rnnlab_docs_per_s\":{ours_dps:.0},\"seed_docs_per_s\":{seed_dps:.0},\"ratio\":{:.1},\"whole_process_s\":{process_s:.3},\"whole_process_docs_per_s\":{process_dps:.0},\"whole_process_ratio\":{:.1},\"peak_rss_mb\":{}}}",
            normalize.trim_start_matches("--"),
            ours_dps / seed_dps,
            process_dps / seed_dps,
            json_number(&ours, "peak_rss_mb").map_or("null".to_string(), |v| v.to_string()),
        );
    }
    Ok(())
}

/// `--venv DIR` (default /tmp/anchor-venv) and `--data-dir DIR` (default RNNLAB_DATA_DIR,
/// else ../shared/data).
/// `rnnlab bench` against `rnn_speed.py`, alternating shape by shape so both see the same
/// machine state; prints one Markdown row per shape and mode.
fn compare_rnn_speed(venv: &Path, device: &str, extra: bool) -> Result<()> {
    let root = workspace_root();
    let rnnlab = release_rnnlab(&root)?;
    let python = anchor_python(venv)?;
    let script = root.join("../shared/anchors/rnn_speed.py");
    let mut shapes: Vec<(&str, Vec<&str>)> = vec![
        ("rnn", vec!["--cell", "rnn"]),
        ("lstm", vec!["--cell", "lstm"]),
        ("gru", vec!["--cell", "gru"]),
        (
            "lstm, 2 layers, bidirectional",
            vec!["--cell", "lstm", "--layers", "2", "--bidirectional"],
        ),
    ];
    if extra {
        for cell in ["rnn", "lstm", "gru"] {
            shapes.push((cell, vec!["--cell", cell, "--batch", "1024", "--hidden", "512"]));
        }
    }
    println!("| mode | model | shape | rnnlab docs/s | PyTorch docs/s | ratio |");
    println!("|---|---|---|---|---|---|");
    for mode in ["train", "infer"] {
        for (name, flags) in &shapes {
            if mode == "infer" && flags.contains(&"--layers") {
                continue;
            }
            let sub = if mode == "train" { "train-step" } else { "infer" };
            let ours = capture(
                Command::new(&rnnlab)
                    .args(["bench", sub, "--device", device])
                    .args(flags),
            )?;
            let theirs = capture(
                Command::new(&python)
                    .arg(&script)
                    .args(["--mode", mode, "--device", device])
                    .args(flags),
            )?;
            let a = json_number(&ours, "docs_per_s").context("no docs_per_s from rnnlab bench")?;
            let b = json_number(&theirs, "docs_per_s").context("no docs_per_s from rnn_speed.py")?;
            let shape = if flags.contains(&"1024") {
                "batch 1024, hidden 512"
            } else {
                "batch 128, hidden 64"
            };
            println!("| {mode} | {name} | {shape} | {a:.0} | {b:.0} | {:.2} |", a / b);
        }
    }
    Ok(())
}

/// Names `cuXxx` followed by `(` in preprocessed C: the driver API's functions.
fn declared_functions(c: &str) -> Vec<String> {
    let bytes = c.as_bytes();
    let mut names = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let starts_word = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        if starts_word && bytes[i..].starts_with(b"cu") && bytes.get(i + 2).is_some_and(u8::is_ascii_uppercase) {
            let mut j = i;
            while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_') {
                j += 1;
            }
            let mut k = j;
            while k < bytes.len() && bytes[k].is_ascii_whitespace() {
                k += 1;
            }
            if bytes.get(k) == Some(&b'(') {
                names.push(c[i..j].to_string());
            }
            i = j;
        } else {
            i += 1;
        }
    }
    names.sort();
    names.dedup();
    names
}

/// The CUDA 13.0 wheels: the GPU machines here run driver 580 (CUDA 13.0), and PTX from a
/// newer compiler may not load there.
const CUDA_WHEELS: &[&str] = &[
    "nvidia-cuda-nvcc==13.0.*",
    "nvidia-nvvm==13.0.*",
    "nvidia-cuda-crt==13.0.*",
    "nvidia-cuda-cccl==13.0.*",
    "nvidia-cuda-runtime==13.0.*",
    "nvidia-cuda-nvrtc==13.0.*",
    "nvidia-cublas==13.0.*",
    "nvidia-curand==10.4.*",
];

/// Installs the toolkit wheels, prepares what the linker needs and builds the `cuda` feature.
fn cuda_build(dir: &Path) -> Result<()> {
    let root = workspace_root();
    let cuda = dir.join("nvidia").join("cu13");
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let installed = [
        cuda.join("bin").join("nvcc"),
        cuda.join("nvvm").join("bin").join("cicc"),
        cuda.join("include").join("nv").join("target"),
        cuda.join("lib").join("libcublas.so.13"),
    ];
    if !installed.iter().all(|p| p.is_file()) {
        println!("installing the CUDA 13.0 wheels into {} (about 1 GB)", dir.display());
        run(Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-deps",
                "--only-binary=:all:",
                "--upgrade",
                "--target",
            ])
            .arg(dir)
            .args(CUDA_WHEELS))?;
    }
    let lib = cuda.join("lib");
    // The wheels ship versioned libraries only (libcublas.so.13); the linker looks for libcublas.so.
    for entry in std::fs::read_dir(&lib).with_context(|| format!("reading {}", lib.display()))? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        if let Some(at) = name.find(".so.") {
            let link = lib.join(&name[..at + 3]);
            if !link.exists() {
                std::os::unix::fs::symlink(&path, &link)
                    .with_context(|| format!("linking {} to {}", link.display(), path.display()))?;
            }
        }
    }
    // The driver library comes with the GPU's driver, not with a wheel: link against a stub
    // that has its symbols (every function cuda.h declares) and its soname.
    let stubs = cuda.join("lib").join("stubs");
    if !stubs.join("libcuda.so").is_file() {
        std::fs::create_dir_all(&stubs)?;
        let pre = capture(
            Command::new("cc")
                .args(["-E", "-P", "-x", "c"])
                .arg(cuda.join("include").join("cuda.h")),
        )?;
        let names = declared_functions(&pre);
        let src: String = names
            .iter()
            .map(|n| format!("int {n}(void) {{ return 999; }}\n"))
            .collect();
        let c_file = stubs.join("libcuda_stub.c");
        std::fs::write(&c_file, src)?;
        run(Command::new("cc")
            .args(["-shared", "-fPIC", "-Wl,-soname,libcuda.so.1", "-o"])
            .arg(stubs.join("libcuda.so"))
            .arg(&c_file))?;
        println!(
            "driver stub with {} functions: {}",
            names.len(),
            stubs.join("libcuda.so").display()
        );
    }
    let path = format!(
        "{}:{}",
        cuda.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let lib_path = format!("{}:{}", lib.display(), stubs.display());
    let target = root.join("target").join("cuda");
    run(Command::new("cargo")
        .current_dir(&root)
        .env("PATH", path)
        .env("CUDA_ROOT", &cuda)
        .env("CUDA_PATH", &cuda)
        .env("CUDA_TOOLKIT_ROOT_DIR", &cuda)
        .env("NVCC_CCBIN", "g++")
        .env(
            "CUDA_COMPUTE_CAP",
            std::env::var("CUDA_COMPUTE_CAP").unwrap_or_else(|_| "90".into()),
        )
        .env("LIBRARY_PATH", &lib_path)
        .env("CARGO_TARGET_DIR", &target)
        .args(["build", "--release", "--features", "cuda", "-p", "rnnlab-cli"]))?;
    println!(
        "built {}\nat run time it needs the driver's libcuda.so.1 and, on LD_LIBRARY_PATH, \
         libcudart.so.13, libcublas.so.13, libcublasLt.so.13, libcurand.so.10, libnvrtc.so.13 \
         (in {} here, or PyTorch's site-packages/nvidia/*/lib on a GPU machine)",
        target.join("release").join("rnnlab").display(),
        lib.display()
    );
    Ok(())
}

/// Packs the GPU check's inputs into `target/gpu-carry`: `rnnlab.xz`, `data/`, `anchors/`.
fn gpu_pack(data_dir: &Path) -> Result<()> {
    let root = workspace_root();
    let binary = root.join("target").join("cuda").join("release").join("rnnlab");
    if !binary.is_file() {
        bail!("{} is missing: run `cargo xtask cuda-build` first", binary.display());
    }
    let carry = root.join("target").join("gpu-carry");
    if carry.exists() {
        std::fs::remove_dir_all(&carry).with_context(|| format!("removing {}", carry.display()))?;
    }
    let data = carry.join("data").join("twitter-hate-speech");
    let anchors = carry.join("anchors");
    std::fs::create_dir_all(&data)?;
    std::fs::create_dir_all(&anchors)?;
    run(Command::new("strip").arg("-o").arg(carry.join("rnnlab")).arg(&binary))?;
    run(Command::new("xz").args(["-6", "-T0"]).arg(carry.join("rnnlab")))?;
    let source = data_dir.join("twitter-hate-speech");
    for f in ["train.csv", "split.csv"] {
        std::fs::copy(source.join(f), data.join(f)).with_context(|| format!("copying {}", source.join(f).display()))?;
    }
    let speed = root.join("..").join("shared").join("anchors").join("rnn_speed.py");
    std::fs::copy(&speed, anchors.join("rnn_speed.py")).with_context(|| format!("copying {}", speed.display()))?;
    let mut size = 0;
    for entry in walk(&carry)? {
        size += std::fs::metadata(&entry)?.len();
    }
    println!(
        "packed {} ({:.1} MB); on the device machine (one call, carry [\"target/gpu-carry\"], timeout 540):\n  \
         RNNLAB=target/gpu-carry/rnnlab DATA=target/gpu-carry/data ANCHORS=target/gpu-carry/anchors bash scripts/gpu-check.sh",
        carry.display(),
        size as f64 / 1e6
    );
    Ok(())
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            files.extend(walk(&path)?);
        } else {
            files.push(path);
        }
    }
    Ok(files)
}

fn venv_and_data(args: &[String]) -> Result<(PathBuf, PathBuf)> {
    let mut venv = PathBuf::from("/tmp/anchor-venv");
    let mut data_dir = std::env::var_os("RNNLAB_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../shared/data"));
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--venv" => venv = PathBuf::from(value),
            "--data-dir" => data_dir = PathBuf::from(value),
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    Ok((venv, data_dir))
}

fn json_string(line: &str, key: &str) -> Option<String> {
    let at = line.find(&format!("\"{key}\": \""))? + key.len() + 5;
    let end = line[at..].find('"')?;
    Some(line[at..at + end].to_string())
}

/// Trains every baseline kind on each data set and runs the anchors' scikit-learn baselines
/// in the same run; prints Markdown tables.
fn compare_baselines(venv: &Path, data_dir: &Path) -> Result<()> {
    let root = workspace_root();
    let rnnlab = release_rnnlab(&root)?;
    let python = venv.join("bin").join("python");
    let anchors = root.join("../shared/anchors");
    let data = data_dir
        .canonicalize()
        .with_context(|| format!("data folder {}", data_dir.display()))?;
    let kinds = [
        "count-logreg",
        "hashing-logreg",
        "tfidf-logreg",
        "char-tfidf-logreg",
        "nb",
        "nbsvm",
    ];
    let anchor_of = |k: &str| match k {
        "count-logreg" => Some("count+logreg"),
        "hashing-logreg" => Some("hashing+logreg"),
        "tfidf-logreg" => Some("tfidf+logreg"),
        _ => None,
    };
    println!("| data set | model | rnnlab test | scikit-learn test | rnnlab vectorize s | sklearn vectorize s | rnnlab train s | sklearn train s |");
    println!("|---|---|---|---|---|---|---|---|");
    for (dataset, anchor_name) in [
        ("twitter-hate-speech", "hate"),
        ("sentirueval2015-banks", "banks"),
        ("sentirueval2015-telecoms", "telecoms"),
    ] {
        let seed = if python.is_file() {
            capture(
                Command::new(&python)
                    .arg(anchors.join("seed_pipeline.py"))
                    .arg("--data")
                    .arg(&data)
                    .args(["--dataset", anchor_name, "--stage", "baselines"]),
            )?
        } else {
            eprintln!(
                "note: no anchor environment at {}: scikit-learn columns left empty",
                venv.display()
            );
            String::new()
        };
        for kind in kinds {
            let out = std::env::temp_dir().join(format!("rnnlab-compare-{dataset}-{kind}"));
            capture(
                Command::new(&rnnlab)
                    .args(["-q", "train", "--dataset", dataset, "--model", kind, "--out"])
                    .arg(&out)
                    .arg("--data-dir")
                    .arg(&data),
            )?;
            let metrics = std::fs::read_to_string(out.join("metrics.json"))?;
            let flat: String = metrics.split_whitespace().collect::<Vec<_>>().join(" ");
            let test_at = flat.find("\"test\":").context("metrics.json has test")?;
            let test = &flat[test_at..];
            let key = if anchor_name == "hate" { "f1" } else { "f1_macro" };
            let ours = json_number(&test.replace(": ", ":"), key).unwrap_or(f64::NAN);
            let timings_at = flat.find("\"timings\":").context("metrics.json has timings")?;
            let timings = flat[timings_at..].replace(": ", ":");
            let anchor_line = anchor_of(kind)
                .and_then(|a| seed.lines().find(|l| json_string(l, "model").as_deref() == Some(a)))
                .map(|l| l.replace(": ", ":"));
            let a = |k: &str| {
                anchor_line
                    .as_deref()
                    .and_then(|l| json_number(l, k))
                    .map_or("".to_string(), |v| format!("{v:.3}"))
            };
            println!(
                "| {dataset} | {kind} | {ours:.4} | {} | {:.3} | {} | {:.3} | {} |",
                a(key),
                json_number(&timings, "vectorize_s").unwrap_or(f64::NAN),
                a("vectorize_s"),
                json_number(&timings, "train_s").unwrap_or(f64::NAN),
                a("train_s"),
            );
            std::fs::remove_dir_all(&out).ok();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn dictionary_location_and_package_match_the_library() {
        assert_eq!(super::install_dir(), rnnlab_text::morph::install_dir());
        assert_eq!(super::DICT_PACKAGE, rnnlab_text::morph::DEFAULT_DICT_PACKAGE);
    }

    #[test]
    fn driver_functions_are_found_in_c() {
        let c = "CUresult cuInit(unsigned int Flags);\nCUresult  cuMemAlloc_v2 (CUdeviceptr *p, size_t n);\ntypedef int CUfoo; int notcuX(void); CUresult cuInit(unsigned int);";
        assert_eq!(
            super::declared_functions(c),
            vec!["cuInit".to_string(), "cuMemAlloc_v2".to_string()]
        );
    }

    #[test]
    fn json_numbers_are_read() {
        let line = r#"{"docs":31962,"docs_per_s":318765.0,"x":1e3}"#;
        assert_eq!(super::json_number(line, "docs"), Some(31962.0));
        assert_eq!(super::json_number(line, "docs_per_s"), Some(318765.0));
        assert_eq!(super::json_number(line, "x"), Some(1000.0));
        assert_eq!(super::json_number(line, "missing"), None);
    }
}
