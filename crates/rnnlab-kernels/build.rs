//! With the `cuda` feature: compiles the GPU kernels (`src/cells.cu`: the recurrent
//! cells; `src/optim.cu`: AdamW) with the toolkit's nvcc into fat binaries (machine code
//! for `CUDA_COMPUTE_CAP`, default 90, plus PTX for newer GPUs) that the library embeds.
//! Compiled here, by the pinned 13.0 toolkit of `cargo xtask cuda-build`, rather than at run
//! time by whatever NVRTC a machine has: a newer NVRTC writes a newer PTX ISA than an older
//! driver may accept (PyTorch's wheels bring NVRTC 13.2; the GPU machines here run the 13.0
//! driver).
//!
//! With the `cells-host` feature (tests only): compiles the same kernels for the host with the
//! system's C++ compiler (`src/kernels_host.cpp`), so that their arithmetic is checked
//! against the CPU definitions where no GPU is.

use std::path::PathBuf;
use std::process::Command;

/// The kernel sources, each compiled to `OUT_DIR/<name>.fatbin`.
const KERNELS: [&str; 2] = ["cells", "optim"];

fn main() {
    for name in KERNELS {
        println!("cargo:rerun-if-changed=src/{name}.cu");
    }
    println!("cargo:rerun-if-env-changed=CUDA_COMPUTE_CAP");
    println!("cargo:rerun-if-env-changed=NVCC");
    println!("cargo:rerun-if-changed=src/kernels_host.cpp");
    #[cfg(feature = "cells-host")]
    cc::Build::new()
        .cpp(true)
        .std("c++14")
        .file("src/kernels_host.cpp")
        .compile("rnnlab_kernels_host");
    if std::env::var_os("CARGO_FEATURE_CUDA").is_none() {
        return;
    }
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let cap = std::env::var("CUDA_COMPUTE_CAP").unwrap_or_else(|_| "90".into());
    let cap: String = cap.chars().filter(char::is_ascii_digit).collect();
    let nvcc = std::env::var("NVCC").unwrap_or_else(|_| "nvcc".into());
    for name in KERNELS {
        let src = format!("src/{name}.cu");
        let status = Command::new(&nvcc)
            .args(["--fatbin", "-O3"])
            .arg(format!("-gencode=arch=compute_{cap},code=sm_{cap}"))
            .arg(format!("-gencode=arch=compute_{cap},code=compute_{cap}"))
            .arg("-o")
            .arg(out_dir.join(format!("{name}.fatbin")))
            .arg(&src)
            .status();
        match status {
            Ok(s) if s.success() => {}
            Ok(s) => panic!("{nvcc} failed on {src} ({s})"),
            Err(e) => panic!(
                "the cuda feature needs nvcc to compile {src} ({nvcc}: {e}); \
                 `cargo xtask cuda-build` installs a toolkit and builds with it"
            ),
        }
    }
}
