#!/usr/bin/env bash
# The GPU check of the cuda build, as one script for a lent GPU machine (no Rust there).
# Prepare here: `cargo xtask cuda-build`, then `cargo xtask gpu-pack`, which puts into
# target/gpu-carry the cuda build stripped and xz-compressed (85 MB stripped is over the 64 MiB
# carry limit; xz -6 makes it 12 MB), the hate-speech data folder and the anchors'
# rnn_speed.py, and prints the one device command. Writes JSON lines to $OUT/gpu.jsonl and the
# logs beside it (kernels.jsonl: every compared quantity). rnnlab's lines carry `phases_ms`
# (forward, backward, optimiser per step), to show where a gap to cuDNN lies. Not yet run on a GPU: no machine has
# been lent so far.
#   RNNLAB=target/gpu-carry/rnnlab DATA=target/gpu-carry/data ANCHORS=target/gpu-carry/anchors bash scripts/gpu-check.sh
# A dry run of the script's plumbing on a machine without a GPU (seconds):
#   DEVICE=cpu STEPS=2 EPOCHS=1 RNNLAB=target/release/rnnlab PY=/tmp/anchor-venv/bin/python scripts/gpu-check.sh
set -uo pipefail
RNNLAB=${RNNLAB:-bin/rnnlab}
DATA=${DATA:-../shared/data}
ANCHORS=${ANCHORS:-../shared/anchors}
OUT=${OUT:-/tmp/gpu-check}
PY=${PY:-python3}
DEVICE=${DEVICE:-cuda}
STEPS=${STEPS:-200}
EPOCHS=${EPOCHS:-10}
mkdir -p "$OUT"
if [ ! -x "$RNNLAB" ] && [ -f "$RNNLAB.xz" ]; then
  $PY -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$RNNLAB.xz" "$RNNLAB"
  chmod +x "$RNNLAB"
fi
# cuBLAS, cuRAND, the runtime and NVRTC from PyTorch's wheels; the driver's libcuda from the system.
SITE=$($PY -c 'import site; print(site.getsitepackages()[0])')
for d in "$SITE"/nvidia/*/lib "$SITE"/nvidia/cu13/lib; do
  [ -d "$d" ] && LD_LIBRARY_PATH="$d:${LD_LIBRARY_PATH:-}"
done
# A system toolkit, if the machine has one, after the wheels.
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib; do
  [ -d "$d" ] && LD_LIBRARY_PATH="${LD_LIBRARY_PATH:-}:$d"
done
export LD_LIBRARY_PATH
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
# What the binary resolves, and whether it starts at all: the first thing to read when
# nothing below ran.
ldd "$RNNLAB" > "$OUT/ldd.txt" 2>&1
grep "not found" "$OUT/ldd.txt" && echo "missing libraries (LD_LIBRARY_PATH=$LD_LIBRARY_PATH)"
"$RNNLAB" --version || cat "$OUT/ldd.txt"
J="$OUT/gpu.jsonl"
# First the kernels against the CPU reference (outputs and every gradient, 24 cases).
timeout 120 "$RNNLAB" bench kernels --device "$DEVICE" > "$OUT/kernels.jsonl" 2>> "$OUT/rnnlab.err"
tail -n 1 "$OUT/kernels.jsonl" >> "$J"
# The stepwise layers against candle's own ops per step, on the GPU (what the kernels gained).
timeout 120 "$RNNLAB" bench train-step --device "$DEVICE" --steps "$STEPS" --cell lstm --kernel reference >> "$J" 2>> "$OUT/rnnlab.err"
for shape in "--batch 128 --hidden 64" "--batch 1024 --hidden 512"; do
  for cell in rnn lstm gru; do
    timeout 120 "$RNNLAB" bench train-step --device "$DEVICE" --steps "$STEPS" --cell "$cell" $shape --phases >> "$J" 2>> "$OUT/rnnlab.err"
    timeout 120 $PY "$ANCHORS/rnn_speed.py" --device "$DEVICE" --steps "$STEPS" --cell "$cell" $shape >> "$J" 2>> "$OUT/torch.err"
    # The same step with AdamW as one optim.cu kernel per parameter (not yet the default).
    [ "$DEVICE" = cpu ] || timeout 120 "$RNNLAB" bench train-step --device "$DEVICE" --steps "$STEPS" --cell "$cell" $shape --phases --gpu-adamw >> "$J" 2>> "$OUT/rnnlab.err"
  done
done
timeout 600 "$RNNLAB" train --dataset twitter-hate-speech --data-dir "$DATA" --model lstm \
  --epochs "$EPOCHS" --device "$DEVICE" --out "$OUT/lstm-cuda" > "$OUT/train.log" 2>&1
# best-rnn gathers its bag of n-grams with index_select on the device: two epochs, to see it run.
timeout 300 "$RNNLAB" train --dataset twitter-hate-speech --data-dir "$DATA" --model best-rnn \
  --epochs 2 --device "$DEVICE" --out "$OUT/best-rnn-cuda" > "$OUT/train-best-rnn.log" 2>&1
$PY - "$OUT" "$DEVICE" >> "$J" <<'PY'
import json, sys
for kind in ("lstm", "best-rnn"):
    try:
        m = json.load(open(f"{sys.argv[1]}/{kind}-cuda/metrics.json"))
    except OSError as e:
        print(json.dumps({"train": kind, "device": sys.argv[2], "error": str(e)}))
        continue
    print(json.dumps({"train": kind, "device": sys.argv[2], "epochs": len(m["curve"]),
                      "test_f1": m["test"]["f1"], "epoch_s": m["timings"]["epoch_s"]}))
PY
