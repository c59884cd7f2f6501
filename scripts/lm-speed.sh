#!/usr/bin/env bash
# Same-run speed: rnnlab's LM training step and generation against lm_anchor.py (1 epoch), 2 threads.
set -euo pipefail
B=${B:-$HOME/.cache/rnnlab-target/release/rnnlab}
D=${RNNLAB_DATA_DIR:-../shared/data}
$B --threads 2 bench lm-step --data-dir $D
/tmp/anchor-venv/bin/python ../shared/anchors/lm_anchor.py --data $D/ud-english-ewt --epochs 1 --threads 2 | tail -1
$B --threads 2 bench lm-step --data-dir $D
$B --threads 2 bench lm-generate ${LM_DIR:?set LM_DIR to a trained lstm language model}
