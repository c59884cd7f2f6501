#!/usr/bin/env python3
"""How far can best-rnn go on hate speech by combining? Trains NB-LR and best-rnn (seeds 0-2)
with rnnlab, predicts the val and test splits, and prints val/test F1 of each model, of the
best-rnn ensemble, and of probability blends with NB-LR, every threshold chosen on val; then a
paired bootstrap of the test gap between NB-LR and the best-rnn seeds.
Standard library only.

    python3 scripts/blend-hate.py [--rnnlab target/release/rnnlab] [--data-dir ../shared/data] [--work /tmp/blend-hate]
"""
import argparse, csv, os, random, subprocess

ap = argparse.ArgumentParser()
ap.add_argument("--rnnlab", default="target/release/rnnlab")
ap.add_argument("--data-dir", default=os.environ.get("RNNLAB_DATA_DIR", "../shared/data"))
ap.add_argument("--work", default="/tmp/blend-hate")
a = ap.parse_args()
os.makedirs(a.work, exist_ok=True)
d = os.path.join(a.data_dir, "twitter-hate-speech")
enc = dict(encoding="utf-8", errors="surrogateescape", newline="")
split = {r["id"]: r["split"] for r in csv.DictReader(open(os.path.join(d, "split.csv")))}
rows = list(csv.DictReader(open(os.path.join(d, "train.csv"), **enc)))
labels = {}
for s in ("val", "test"):
    with open(os.path.join(a.work, s + ".csv"), "w", **enc) as f:
        w = csv.DictWriter(f, fieldnames=["id", "label", "tweet"])
        w.writeheader()
        part = [r for r in rows if split[r["id"]] == s]
        w.writerows(part)
        labels[s] = [int(r["label"]) for r in part]

models = {"nbsvm": ["--model", "nbsvm"]}
models.update({f"best-rnn seed {k}": ["--model", "best-rnn", "--seed", str(k)] for k in range(3)})
proba = {}
for name, flags in models.items():
    out = os.path.join(a.work, name.replace(" ", "-"))
    if not os.path.exists(os.path.join(out, "metrics.json")):
        subprocess.run([a.rnnlab, "train", "--dataset", "twitter-hate-speech", "--data-dir", a.data_dir,
                        "--out", out, "-q"] + flags, check=True)
    for s in ("val", "test"):
        p = os.path.join(out, f"pred-{s}.csv")
        subprocess.run([a.rnnlab, "predict", out, "--input", os.path.join(a.work, s + ".csv"),
                        "--text-column", "tweet", "--output", p, "-q"], check=True)
        proba[name, s] = [float(r["p_1"]) for r in csv.DictReader(open(p))]


def f1(p, y, t):
    tp = sum(1 for q, c in zip(p, y) if q >= t and c == 1)
    fp = sum(1 for q, c in zip(p, y) if q >= t and c == 0)
    fn = sum(1 for q, c in zip(p, y) if q < t and c == 1)
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def show(name, pv, pt):
    t = max((i / 100 for i in range(1, 100)), key=lambda t: f1(pv, labels["val"], t))
    print(f"| {name} | {f1(pv, labels['val'], t):.4f} | {f1(pt, labels['test'], t):.4f} | {t:.2f} |")


def mix(parts, s):
    return [sum(w * q for w, q in zip((w for w, _ in parts), qs)) for qs in zip(*(proba[m, s] for _, m in parts))]


print("| model | val F1 | test F1 | threshold |\n|---|---|---|---|")
for name in models:
    show(name, proba[name, "val"], proba[name, "test"])
rnns = [(1 / 3, f"best-rnn seed {k}") for k in range(3)]
show("best-rnn ensemble (3 seeds)", mix(rnns, "val"), mix(rnns, "test"))
for k in range(3):
    parts = [(0.5, "nbsvm"), (0.5, f"best-rnn seed {k}")]
    show(f"0.5 NB-LR + 0.5 best-rnn seed {k}", mix(parts, "val"), mix(parts, "test"))
for w in (0.3, 0.5, 0.7):
    parts = [(w, "nbsvm")] + [(c * (1 - w), m) for c, m in rnns]
    show(f"{w} NB-LR + {1 - w:.1f} best-rnn ensemble", mix(parts, "val"), mix(parts, "test"))


def val_threshold(name):
    pv = proba[name, "val"]
    return max((i / 100 for i in range(1, 100)), key=lambda t: f1(pv, labels["val"], t))


# How sure the test gap is: a paired bootstrap over test tweets of NB-LR's F1 minus the
# best-rnn seeds' mean F1, each model at its validation threshold.
y = labels["test"]
preds = {m: [p >= val_threshold(m) for p in proba[m, "test"]] for m in models}


def f1_at(pred, idx):
    tp = sum(1 for i in idx if pred[i] and y[i] == 1)
    fp = sum(1 for i in idx if pred[i] and y[i] == 0)
    fn = sum(1 for i in idx if not pred[i] and y[i] == 1)
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def gap(idx):
    return f1_at(preds["nbsvm"], idx) - sum(f1_at(preds[m], idx) for _, m in rnns) / len(rnns)


random.seed(0)
n = len(y)
diffs = sorted(gap([random.randrange(n) for _ in range(n)]) for _ in range(2000))
print(f"\nNB-LR minus best-rnn 3-seed mean, test F1: {gap(range(n)):.4f}, paired bootstrap 95% interval "
      f"[{diffs[50]:.4f}, {diffs[1949]:.4f}], best-rnn level or ahead in "
      f"{sum(d <= 0 for d in diffs) / len(diffs):.1%} of 2,000 resamples")
