#!/usr/bin/env python3
"""Where NB-LR and best-rnn differ on hate speech: errors of each model on the test (and val)
tweets that repeat a training tweet, nearly repeat one (half their word trigrams shared), or are
new; and by length in tokens after rnnlab's preprocessing. Reads the predictions that
`scripts/blend-hate.py` leaves in its work folder; each model at its validation threshold.
Standard library only.

    python3 scripts/blend-hate.py --work /tmp/blend-hate
    python3 scripts/hate-errors.py [--rnnlab target/release/rnnlab] [--work /tmp/blend-hate] [--extra DIR ...]

--extra adds model directories (e.g. a `--bos-eos` run) that are predicted here too.
"""
import argparse, csv, json, os, re, subprocess
from collections import defaultdict

ap = argparse.ArgumentParser()
ap.add_argument("--rnnlab", default="target/release/rnnlab")
ap.add_argument("--data-dir", default=os.environ.get("RNNLAB_DATA_DIR", "../shared/data"))
ap.add_argument("--work", default="/tmp/blend-hate")
ap.add_argument("--extra", nargs="*", default=[])
a = ap.parse_args()
d = os.path.join(a.data_dir, "twitter-hate-speech")
enc = dict(encoding="utf-8", errors="surrogateescape", newline="")
split = {r["id"]: r["split"] for r in csv.DictReader(open(os.path.join(d, "split.csv")))}
rows = list(csv.DictReader(open(os.path.join(d, "train.csv"), **enc)))

tokens_csv = os.path.join(a.work, "tokens.csv")
if not os.path.exists(tokens_csv):
    subprocess.run([a.rnnlab, "preprocess", "--dataset", "twitter-hate-speech", "--data-dir", a.data_dir,
                    "--output", tokens_csv, "-q"], check=True)
n_tokens = {r["id"]: len(r["tokens"].split()) for r in csv.DictReader(open(tokens_csv, **enc))}


def norm(t):
    return " ".join(re.sub(r"[^a-z0-9# ]", " ", t.lower().replace("@user", "")).split())


def trigrams(t):
    w = norm(t).split()
    return frozenset(zip(w, w[1:], w[2:]))


train = [r for r in rows if split[r["id"]] == "train"]
seen = {norm(r["tweet"]) for r in train}
train_grams = [trigrams(r["tweet"]) for r in train]
index = defaultdict(set)
for i, g in enumerate(train_grams):
    for t in g:
        index[t].add(i)


def kind(tweet):
    if norm(tweet) in seen:
        return "repeats a training tweet"
    g = trigrams(tweet)
    shared = defaultdict(int)
    for t in g:
        for i in index[t]:
            shared[i] += 1
    near = any(c / len(g | train_grams[i]) >= 0.5 for i, c in shared.items())
    return "nearly repeats one" if near else "new"


models = ["nbsvm"] + [f"best-rnn-seed-{k}" for k in range(3)]
dirs = {m: os.path.join(a.work, m) for m in models}
for x in a.extra:
    dirs[os.path.basename(x.rstrip("/"))] = x
for s in ("val", "test"):
    part = [r for r in rows if split[r["id"]] == s]
    y = [int(r["label"]) for r in part]
    pred = {}
    for m, path in dirs.items():
        out = os.path.join(path, f"pred-{s}.csv")
        if not os.path.exists(out):
            subprocess.run([a.rnnlab, "predict", path, "--input", os.path.join(a.work, s + ".csv"),
                            "--text-column", "tweet", "--output", out, "-q"], check=True)
        p = [float(r["p_1"]) for r in csv.DictReader(open(out))]
        t = json.load(open(os.path.join(path, "metrics.json")))["threshold"]
        pred[m] = [q >= t for q in p]
    groups = {}
    for i, r in enumerate(part):
        n = n_tokens[r["id"]]
        length = "0-3 tokens" if n <= 3 else "4-6 tokens" if n <= 6 else "7-9 tokens" if n <= 9 else "10+ tokens"
        for g in (kind(r["tweet"]), length):
            groups.setdefault(g, []).append(i)
    print(f"\n{s}: true positives / false positives of each model ({', '.join(dirs)})")
    print("| tweets | rows | positives | " + " | ".join(dirs) + " |")
    print("|---|---|---|" + "---|" * len(dirs))
    order = ["repeats a training tweet", "nearly repeats one", "new", "0-3 tokens", "4-6 tokens", "7-9 tokens", "10+ tokens"]
    for g, ii in sorted(groups.items(), key=lambda kv: order.index(kv[0])):
        cells = []
        for m in dirs:
            tp = sum(1 for i in ii if pred[m][i] and y[i])
            fp = sum(1 for i in ii if pred[m][i] and not y[i])
            cells.append(f"{tp} / {fp}")
        print(f"| {g} | {len(ii)} | {sum(y[i] for i in ii)} | " + " | ".join(cells) + " |")
