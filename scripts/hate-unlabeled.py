#!/usr/bin/env python3
"""best-rnn on hate speech with the unlabeled tweets (test_tweets.csv), two ways, seeds 0-2:
1. pretrained word vectors: fastText skip-gram (dim 128, 10 epochs, minCount 2, character
   3-5-grams) on rnnlab's preprocessed tokens of the training split and the unlabeled tweets,
   then `rnnlab train --model best-rnn --pretrained FILE.vec`;
2. self-training: each seed's plain best-rnn labels the unlabeled tweets (p >= 0.8 hateful,
   p <= 0.05 not), those rows join the training split, the same seed trains again.
Prints val / test F1 per seed and their means. Needs the anchors' environment for fastText
(`../shared/anchors/setup.sh /tmp/anchor-venv`); about 10 minutes on 2 cores.

    /tmp/anchor-venv/bin/python scripts/hate-unlabeled.py [--rnnlab target/release/rnnlab] [--data-dir ../shared/data] [--work /tmp/hate-unlabeled]
"""
import argparse, csv, json, os, subprocess

ap = argparse.ArgumentParser()
ap.add_argument("--rnnlab", default="target/release/rnnlab")
ap.add_argument("--data-dir", default=os.environ.get("RNNLAB_DATA_DIR", "../shared/data"))
ap.add_argument("--work", default="/tmp/hate-unlabeled")
a = ap.parse_args()
os.makedirs(a.work, exist_ok=True)
d = os.path.join(a.data_dir, "twitter-hate-speech")
enc = dict(encoding="utf-8", errors="surrogateescape", newline="")
w = lambda name: os.path.join(a.work, name)


def rnnlab(*args):
    subprocess.run([a.rnnlab, "-q", *args], check=True, stdout=subprocess.DEVNULL)


def figures(out):
    m = json.load(open(os.path.join(out, "metrics.json")))
    return m["val"]["f1"], m["test"]["f1"]


def report(name, runs):
    v, t = zip(*runs)
    print(f"{name}: val " + " / ".join(f"{x:.4f}" for x in v) + f" (mean {sum(v) / 3:.4f}), test "
          + " / ".join(f"{x:.4f}" for x in t) + f" (mean {sum(t) / 3:.4f})", flush=True)


# The split as three files, so that extra training rows can be added (same rows, same order
# as `--dataset twitter-hate-speech`, hence the same runs).
split = {r["id"]: r["split"] for r in csv.DictReader(open(os.path.join(d, "split.csv")))}
rows = list(csv.DictReader(open(os.path.join(d, "train.csv"), **enc)))
for s in ("train", "val", "test"):
    with open(w(s + ".csv"), "w", **enc) as f:
        out = csv.DictWriter(f, fieldnames=["id", "label", "tweet"])
        out.writeheader()
        out.writerows({k: r[k] for k in ("id", "label", "tweet")} for r in rows if split[r["id"]] == s)
files = ["--val", w("val.csv"), "--test", w("test.csv"), "--text-column", "tweet", "--label-column", "label", "--id-column", "id",
         "--lang", "en", "--positive-label", "1", "--model", "best-rnn"]
unlabeled = os.path.join(d, "test_tweets.csv")

# 1. Pretrained vectors.
import fasttext

rnnlab("preprocess", "--dataset", "twitter-hate-speech", "--data-dir", a.data_dir, "--output", w("tokens.csv"))
rnnlab("preprocess", "--input", unlabeled, "--text-column", "tweet", "--lang", "en", "--output", w("unlabeled-tokens.csv"))
with open(w("corpus.txt"), "w") as f:
    for r in csv.DictReader(open(w("tokens.csv"), **enc)):
        if r["split"] == "train":
            f.write(r["tokens"] + "\n")
    for r in csv.DictReader(open(w("unlabeled-tokens.csv"), **enc)):
        f.write(r["tokens"] + "\n")
m = fasttext.train_unsupervised(w("corpus.txt"), model="skipgram", dim=128, epoch=10, minCount=2, minn=3, maxn=5,
                                thread=2, verbose=0)
with open(w("vectors.vec"), "w") as f:
    words = m.get_words()
    f.write(f"{len(words)} 128\n")
    for word in words:
        f.write(word + " " + " ".join("%.5f" % x for x in m.get_word_vector(word)) + "\n")
runs = []
for seed in range(3):
    out = w(f"pretrained-{seed}")
    rnnlab("train", "--train", w("train.csv"), *files, "--seed", str(seed), "--pretrained", w("vectors.vec"), "--out", out)
    runs.append(figures(out))
report("pretrained vectors", runs)

# 2. Self-training.
tweets = {r["id"]: r["tweet"] for r in csv.DictReader(open(unlabeled, **enc))}
train_rows = list(csv.DictReader(open(w("train.csv"), **enc)))
plain, selftrained = [], []
for seed in range(3):
    teacher = w(f"plain-{seed}")
    rnnlab("train", "--train", w("train.csv"), *files, "--seed", str(seed), "--out", teacher)
    plain.append(figures(teacher))
    rnnlab("predict", teacher, "--input", unlabeled, "--text-column", "tweet", "--output", w(f"unlabeled-{seed}.csv"))
    extra = []
    for r in csv.DictReader(open(w(f"unlabeled-{seed}.csv"))):
        p = float(r["p_1"])
        if p >= 0.8 or p <= 0.05:
            extra.append({"id": r["id"], "label": "1" if p >= 0.8 else "0", "tweet": tweets[r["id"]]})
    with open(w(f"train-self-{seed}.csv"), "w", **enc) as f:
        out = csv.DictWriter(f, fieldnames=["id", "label", "tweet"])
        out.writeheader()
        out.writerows(train_rows + extra)
    student = w(f"self-{seed}")
    rnnlab("train", "--train", w(f"train-self-{seed}.csv"), *files, "--seed", str(seed), "--out", student)
    selftrained.append(figures(student))
    print(f"seed {seed}: {len(extra)} unlabeled rows added, {sum(e['label'] == '1' for e in extra)} hateful", flush=True)
report("plain best-rnn", plain)
report("self-trained", selftrained)
