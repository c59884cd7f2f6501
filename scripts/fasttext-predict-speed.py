"""Prediction docs/s of the `fasttext` package and of rnnlab's fasttext kind on the same test
texts (the anchor's split), in one run. Usage:
  /tmp/anchor-venv/bin/python scripts/fasttext-predict-speed.py --rnnlab target/release/rnnlab \
      --data ../shared/data [--dataset hate]
Prints one JSON line per side: probabilities of every class for the test rows, from texts
already split (fastText's `multilinePredict`; `rnnlab bench predict`), one thread each."""
import argparse, json, os, re, subprocess, sys, tempfile, time
import pandas as pd, fasttext

ap = argparse.ArgumentParser()
ap.add_argument("--rnnlab", required=True)
ap.add_argument("--data", required=True)
ap.add_argument("--dataset", default="hate", choices=["hate", "banks", "telecoms"])
ap.add_argument("--repeat", type=int, default=20)
a = ap.parse_args()
names = {"hate": "twitter-hate-speech", "banks": "sentirueval2015-banks", "telecoms": "sentirueval2015-telecoms"}
if a.dataset == "hate":
    df = pd.read_csv(f"{a.data}/twitter-hate-speech/train.csv", encoding_errors="replace").merge(
        pd.read_csv(f"{a.data}/twitter-hate-speech/split.csv"), on="id").rename(columns={"tweet": "text"})
else:
    tr = pd.read_csv(f"{a.data}/sentirueval2015/{a.dataset}_train.csv")
    te = pd.read_csv(f"{a.data}/sentirueval2015/{a.dataset}_test.csv")
    df = pd.concat([tr, te]).merge(pd.read_csv(f"{a.data}/sentirueval2015/{a.dataset}_split.csv"), on="id")
df["clean"] = df.text.astype(str).str.lower().map(lambda t: " ".join(re.findall(r"\w+|[^\w\s]", t)))
d = tempfile.mkdtemp()
with open(os.path.join(d, "train.txt"), "w") as f:
    for t, y in zip(df[df.split == "train"].clean, df[df.split == "train"].label):
        f.write(f"__label__{y} {t}\n")
m = fasttext.train_supervised(os.path.join(d, "train.txt"), epoch=25, lr=0.5, wordNgrams=2, dim=64,
                              minn=2, maxn=5, thread=1, verbose=0, seed=0)
lines = [t + "\n" for t in df[df.split == "test"].clean]
t0 = time.perf_counter()
for _ in range(a.repeat):
    m.f.multilinePredict(lines, -1, 0.0, "strict")
s = time.perf_counter() - t0
print(json.dumps({"side": "fasttext", "dataset": a.dataset, "docs": len(lines), "predict_docs_per_s": round(len(lines) * a.repeat / s)}))
out = os.path.join(d, "rnnlab")
subprocess.run([a.rnnlab, "--threads", "1", "train", "-q", "--dataset", names[a.dataset], "--data-dir", a.data, "--model", "fasttext",
                "--tokenizer", "simple", "--out", out], check=True, stdout=subprocess.DEVNULL)
b = subprocess.run([a.rnnlab, "--threads", "1", "bench", "predict", out, "--dataset", names[a.dataset], "--data-dir",
                    a.data, "--repeat", str(a.repeat)], check=True, capture_output=True, text=True)
print(json.dumps({"side": "rnnlab", "dataset": a.dataset, "predict_docs_per_s": json.loads(b.stdout)["docs_per_s"]}))
