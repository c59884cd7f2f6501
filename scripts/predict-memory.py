#!/usr/bin/env python3
"""Peak memory and docs/s of `rnnlab predict --input` as the input grows, for one or more
rnnlab binaries side by side (an older build against the current one), in one run.

    python3 scripts/predict-memory.py --model MODEL_DIR --texts ../shared/data/twitter-hate-speech/test_tweets.csv \
        --rows 100000 2000000 --bin old=/tmp/rnnlab-old --bin new=target/release/rnnlab

Each input is the text column of --texts cycled to the row count. Every binary runs on the same
files, interleaved, under /usr/bin/time (peak resident set, wall time). One JSON line per run.
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--texts", required=True, help="a CSV file with a text column (tweet or text)")
    ap.add_argument("--rows", type=int, nargs="+", default=[100_000, 2_000_000])
    ap.add_argument("--bin", action="append", required=True, help="NAME=PATH")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    with open(args.texts, encoding="utf-8", errors="replace", newline="") as f:
        reader = csv.DictReader(f)
        col = "tweet" if "tweet" in reader.fieldnames else "text"
        texts = [r[col] for r in reader]
    bins = [b.split("=", 1) for b in args.bin]
    with tempfile.TemporaryDirectory() as tmp:
        for rows in args.rows:
            path = os.path.join(tmp, f"in-{rows}.csv")
            with open(path, "w", encoding="utf-8", newline="") as f:
                w = csv.writer(f)
                w.writerow(["id", "text"])
                for i in range(rows):
                    w.writerow([i, texts[i % len(texts)]])
            for _ in range(args.repeat):
                for name, exe in bins:
                    out = os.path.join(tmp, "out.csv")
                    cmd = ["/usr/bin/time", "-f", "%M %e", exe, "predict", args.model,
                           "--input", path, "--text-column", "text", "--id-column", "id", "--output", out]
                    p = subprocess.run(cmd, capture_output=True, text=True)
                    if p.returncode != 0:
                        sys.exit(f"{name}: {p.stderr}")
                    kb, secs = p.stderr.strip().splitlines()[-1].split()
                    with open(out, encoding="utf-8") as f:
                        written = sum(1 for _ in f) - 1
                    print(json.dumps({"bin": name, "model": args.model, "rows": rows, "written": written,
                                      "peak_rss_mb": round(int(kb) / 1024, 1), "seconds": float(secs),
                                      "docs_per_s": round(rows / max(float(secs), 1e-9))}), flush=True)


if __name__ == "__main__":
    main()
