//! With the `cuda` feature: compiles the recurrent cell kernels (`src/rnn/cells.cu`) with the
//! toolkit's nvcc into a fat binary (machine code for `CUDA_COMPUTE_CAP`, default 90, plus PTX
//! for newer GPUs) that the library embeds. Compiled here, by the pinned 13.0 toolkit of
//! `cargo xtask cuda-build`, rather than at run time by whatever NVRTC a machine has: a newer
//! NVRTC writes a newer PTX ISA than an older driver may accept (PyTorch's wheels bring NVRTC
//! 13.2; the GPU machines here run the 13.0 driver).
//!
//! With the `cells-host` feature (tests only): compiles the same `cells.cu` for the host with
//! the system's C++ compiler (`src/rnn/cells_host.cpp`), so that the kernels' arithmetic is
//! checked against the CPU definition where no GPU is.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=src/rnn/cells.cu");
    println!("cargo:rerun-if-env-changed=CUDA_COMPUTE_CAP");
    println!("cargo:rerun-if-env-changed=NVCC");
    println!("cargo:rerun-if-changed=src/rnn/cells_host.cpp");
    #[cfg(feature = "cells-host")]
    cc::Build::new()
        .cpp(true)
        .std("c++14")
        .file("src/rnn/cells_host.cpp")
        .compile("rnnlab_cells_host");
    if std::env::var_os("CARGO_FEATURE_CUDA").is_none() {
        return;
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("cells.fatbin");
    let cap = std::env::var("CUDA_COMPUTE_CAP").unwrap_or_else(|_| "90".into());
    let cap: String = cap.chars().filter(char::is_ascii_digit).collect();
    let nvcc = std::env::var("NVCC").unwrap_or_else(|_| "nvcc".into());
    let status = Command::new(&nvcc)
        .args(["--fatbin", "-O3"])
        .arg(format!("-gencode=arch=compute_{cap},code=sm_{cap}"))
        .arg(format!("-gencode=arch=compute_{cap},code=compute_{cap}"))
        .arg("-o")
        .arg(&out)
        .arg("src/rnn/cells.cu")
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("{nvcc} failed on src/rnn/cells.cu ({s})"),
        Err(e) => panic!(
            "the cuda feature needs nvcc to compile src/rnn/cells.cu ({nvcc}: {e}); \
             `cargo xtask cuda-build` installs a toolkit and builds with it"
        ),
    }
}
