//! `--device` values.

use crate::Error;

/// The device of a `--device` value: `cpu`, `cuda` or `cuda:N`.
pub fn parse_device(name: &str) -> Result<candle_core::Device, Error> {
    let name = name.trim();
    if name == "cpu" {
        return Ok(candle_core::Device::Cpu);
    }
    let ordinal = match name.strip_prefix("cuda") {
        Some("") => 0,
        Some(rest) => rest
            .strip_prefix(':')
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| Error::Param(format!("--device {name:?}: expected cpu, cuda or cuda:N")))?,
        None => return Err(Error::Param(format!("--device {name:?}: expected cpu, cuda or cuda:N"))),
    };
    if !candle_core::utils::cuda_is_available() {
        return Err(Error::Param(format!(
            "--device {name}: this rnnlab was built without CUDA support; rebuild with `cargo xtask cuda-build` \
             (or `cargo build --release --features cuda`), or use --device cpu"
        )));
    }
    candle_core::Device::new_cuda(ordinal).map_err(|e| {
        // candle's message may carry a backtrace; its first line is the driver's answer.
        let first = e.to_string().lines().next().unwrap_or_default().to_string();
        Error::Param(format!(
            "--device {name}: no usable GPU ({first}); is the NVIDIA driver installed and the GPU visible (nvidia-smi)? \
             Use --device cpu to run on the CPU"
        ))
    })
}
