#!/usr/bin/env python3
"""Cross-validation on hate speech's training split: a steadier measure than the test split.

The test split has 224 hateful tweets, so one model's F1 there moves by about 0.02 with the
seed. Here every model trains K times on (K-1)/K of the training split (the fixed validation
split still chooses its epoch and threshold) and is scored on the held 1/K at its own
threshold; together the held folds cover all 25,569 training rows (1,790 hateful). Models are
given as NAME="rnnlab train flags"; the first is the reference for the paired differences.
Standard library only; each model directory is kept in --work and reused. Its folds are
round-robin over the training rows in file order (row i in fold i mod K); `rnnlab cv` does the
same for rnnlab's own models in one command, with folds stratified by class; this script is
for rows beside the fastText anchor, and it made docs/research/best-rnn.md's first cross-validation table.

    python3 scripts/cv-hate.py [--rnnlab target/release/rnnlab] [--data-dir ../shared/data] \\
        [--work /tmp/cv-hate] [--folds 5] nbsvm="--model nbsvm" best-rnn="--model best-rnn"
"""
import argparse, csv, json, os, shlex, subprocess

ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
ap.add_argument("--rnnlab", default="target/release/rnnlab", help="the rnnlab binary (default: %(default)s)")
ap.add_argument("--data-dir", default=os.environ.get("RNNLAB_DATA_DIR", "../shared/data"),
                help="the data folder (default: $RNNLAB_DATA_DIR, else ../shared/data)")
ap.add_argument("--work", default="/tmp/cv-hate",
                help="fold files and model directories; models already there are reused (default: %(default)s)")
ap.add_argument("--folds", type=int, default=5, help="K (default: %(default)s)")
ap.add_argument("--fasttext", metavar="PYTHON",
                help="also cross-validate the fastText anchor (wordNgrams 2, char 2-5, its settings and "
                     "preprocessing) with this Python, which has the fasttext package (../shared/anchors/setup.sh)")
ap.add_argument("models", nargs="+", metavar='NAME="FLAGS"',
                help='a row of the table: its name and its `rnnlab train` model flags, e.g. bag-nb="--model best-rnn --bag-nb"')
a = ap.parse_args()
for spec in a.models:
    if "=" not in spec or not spec.partition("=")[0]:
        ap.error(f'{spec!r}: give a model as NAME="rnnlab train flags"')
if not os.access(a.rnnlab, os.X_OK):
    ap.error(f"{a.rnnlab}: no rnnlab binary there (cargo build --release -p rnnlab-cli, or --rnnlab PATH)")
if a.folds < 2:
    ap.error("--folds must be at least 2")
if not os.path.isfile(os.path.join(a.data_dir, "twitter-hate-speech", "split.csv")):
    ap.error(f"{a.data_dir}: no twitter-hate-speech/split.csv there (see --data-dir)")
os.makedirs(a.work, exist_ok=True)
K = a.folds
enc = dict(encoding="utf-8", errors="surrogateescape", newline="")
w = lambda name: os.path.join(a.work, name)
d = os.path.join(a.data_dir, "twitter-hate-speech")
split = {r["id"]: r["split"] for r in csv.DictReader(open(os.path.join(d, "split.csv")))}
rows = [r for r in csv.DictReader(open(os.path.join(d, "train.csv"), **enc))]


def write(name, part):
    with open(w(name), "w", **enc) as f:
        out = csv.DictWriter(f, fieldnames=["id", "label", "tweet"])
        out.writeheader()
        out.writerows({k: r[k] for k in ("id", "label", "tweet")} for r in part)


train = [r for r in rows if split[r["id"]] == "train"]
for s in ("val", "test"):
    write(s + ".csv", [r for r in rows if split[r["id"]] == s])
for k in range(K):
    write(f"train-{k}.csv", [r for i, r in enumerate(train) if i % K != k])
    write(f"held-{k}.csv", [r for i, r in enumerate(train) if i % K == k])
files = ["--val", w("val.csv"), "--test", w("test.csv"), "--text-column", "tweet", "--label-column", "label",
         "--id-column", "id", "--lang", "en", "--positive-label", "1", "-q"]


def counts(pred, y):
    tp = sum(1 for p, c in zip(pred, y) if p and c == 1)
    fp = sum(1 for p, c in zip(pred, y) if p and c == 0)
    fn = sum(1 for p, c in zip(pred, y) if not p and c == 1)
    return tp, fp, fn


def f1(tp, fp, fn):
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


held, pooled, val, test = {}, {}, {}, {}
for spec in a.models:
    name, _, flags = spec.partition("=")
    tot = [0, 0, 0]
    for k in range(K):
        out = w(f"{name}-{k}")
        if not os.path.exists(os.path.join(out, "metrics.json")):
            subprocess.run([a.rnnlab, "train", "--train", w(f"train-{k}.csv"), *files, *shlex.split(flags),
                            "--out", out], check=True)
        pred = os.path.join(out, "pred-held.csv")
        if not os.path.exists(pred):
            subprocess.run([a.rnnlab, "predict", out, "--input", w(f"held-{k}.csv"), "--text-column", "tweet",
                            "--output", pred, "-q"], check=True)
        m = json.load(open(os.path.join(out, "metrics.json")))
        p = [float(r["p_1"]) for r in csv.DictReader(open(pred))]
        y = [int(r["label"]) for r in csv.DictReader(open(w(f"held-{k}.csv"), **enc))]
        assert len(p) == len(y)
        c = counts([q >= m["threshold"] for q in p], y)
        tot = [t + x for t, x in zip(tot, c)]
        held[name, k], val[name, k], test[name, k] = f1(*c), m["val"]["f1"], m["test"]["f1"]
    pooled[name] = f1(*tot)

# The fastText anchor's own recipe (../shared/anchors/fasttext_anchor.py), fold by fold.
FASTTEXT = r"""
import csv, re, sys, fasttext, numpy as np
train, val, test, held, out, seed = sys.argv[1:7]
enc = dict(encoding="utf-8", errors="replace", newline="")
clean = lambda t: " ".join(re.findall(r"\w+|[^\w\s]", t.lower()))
read = lambda p: [(clean(r["tweet"]), int(r["label"])) for r in csv.DictReader(open(p, **enc))]
with open(out + ".txt", "w") as f:
    f.writelines(f"__label__{y} {t}\n" for t, y in read(train))
m = fasttext.train_supervised(out + ".txt", epoch=25, lr=0.5, wordNgrams=2, dim=64, minn=2, maxn=5,
                              thread=1, verbose=0, seed=int(seed))
def p1(rows):
    return np.array([dict((l, p) for p, l in m.f.predict(t + "\n", -1, 0.0, "strict")).get("__label__1", 0.0)
                     for t, _ in rows])
def f1(p, y, t):
    tp = ((p >= t) & (y == 1)).sum(); fp = ((p >= t) & (y == 0)).sum(); fn = ((p < t) & (y == 1)).sum()
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0
v = read(val); yv = np.array([y for _, y in v]); pv = p1(v)
th = max(np.linspace(0.05, 0.95, 91), key=lambda t: f1(pv, yv, t))
te = read(test); yt = np.array([y for _, y in te])
with open(out, "w") as f:
    f.write(f"{th}\n{f1(pv, yv, th)}\n{f1(p1(te), yt, th)}\n" + "".join(f"{q}\n" for q in p1(read(held))))
"""
if a.fasttext:
    tot = [0, 0, 0]
    for k in range(K):
        out = w(f"fasttext-{k}.txt")
        if not os.path.exists(out):
            subprocess.run([a.fasttext, "-c", FASTTEXT, w(f"train-{k}.csv"), w("val.csv"), w("test.csv"), w(f"held-{k}.csv"), out,
                            "0"], check=True)
        th, vf1, tf1, *p = [float(x) for x in open(out)]
        y = [int(r["label"]) for r in csv.DictReader(open(w(f"held-{k}.csv"), **enc))]
        c = counts([q >= th for q in p], y)
        tot = [t + x for t, x in zip(tot, c)]
        held["fastText", k], val["fastText", k], test["fastText", k] = f1(*c), vf1, tf1
    pooled["fastText"] = f1(*tot)
    a.models.append("fastText=")

names = [s.partition("=")[0] for s in a.models]
mean = lambda table, n: sum(table[n, k] for k in range(K)) / K
print("| model | " + " | ".join(f"held {k}" for k in range(K)) + " | held, pooled | val (mean) | test (mean) |")
print("|---" * (K + 4) + "|")
for n in names:
    print(f"| {n} | " + " | ".join(f"{held[n, k]:.4f}" for k in range(K))
          + f" | {pooled[n]:.4f} | {mean(val, n):.4f} | {mean(test, n):.4f} |")
ref = names[0]
for n in names[1:]:
    diffs = [held[n, k] - held[ref, k] for k in range(K)]
    print(f"{n} minus {ref}: held folds {' '.join(f'{x:+.4f}' for x in diffs)}, pooled "
          f"{pooled[n] - pooled[ref]:+.4f}, ahead in {sum(x > 0 for x in diffs)} of {K} folds; "
          f"test {mean(test, n) - mean(test, ref):+.4f}")
