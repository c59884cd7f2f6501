#!/usr/bin/env python3
"""Writes a data set as the PyTorch anchor's networks read it: its own preprocessing, its split.

`../shared/anchors/seed_pipeline.py` cleans each text before its RNN / LSTM / GRU see it
(ASCII punctuation deleted character by character, lowercase, `не ` glued to the next word, the
Python `stop-words` list dropped, Snowball stems for English, pymorphy3 lemmas for Russian).
rnnlab's own pipeline differs, so a gap between the two stacks' figures mixes input and
network. This script writes `train.csv`, `val.csv` and `test.csv` (columns `text`, `label`)
whose `text` is the anchor's cleaned string, and `pipeline.json`, a pipeline that only splits
on whitespace (the tokenizer's `whitespace` mode, as Python's `str.split()`), so that

    rnnlab experiment --train OUT/train.csv --val OUT/val.csv --test OUT/test.csv \\
        --pipeline OUT/pipeline.json --models rnn,lstm,gru --seeds 3

trains rnnlab's networks on exactly the anchor's tokens: a comparison of the networks alone. The preprocessing below is the anchor's,
copied line for line; it needs the anchor's Python packages (../shared/anchors/setup.sh, or
just pandas, pymorphy3, pymorphy3-dicts-ru, stop-words and nltk at its pins).

    python3 scripts/anchor-tokens.py --data ../shared/data --dataset hate|banks|telecoms --out DIR
"""
import argparse, json, os, re, string

import pandas as pd

ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
ap.add_argument("--data", default=os.environ.get("RNNLAB_DATA_DIR", "../shared/data"),
                help="the data folder (default: $RNNLAB_DATA_DIR, else ../shared/data)")
ap.add_argument("--dataset", required=True, choices=["hate", "banks", "telecoms"])
ap.add_argument("--out", required=True, help="folder for train.csv, val.csv, test.csv")
a = ap.parse_args()

# ---- load + split, as seed_pipeline.py
if a.dataset == "hate":
    df = pd.read_csv(f"{a.data}/twitter-hate-speech/train.csv", encoding_errors="replace")
    sp = pd.read_csv(f"{a.data}/twitter-hate-speech/split.csv")
    df = df.merge(sp, on="id").rename(columns={"tweet": "text"})
    lang = "en"
else:
    tr = pd.read_csv(f"{a.data}/sentirueval2015/{a.dataset}_train.csv")
    te = pd.read_csv(f"{a.data}/sentirueval2015/{a.dataset}_test.csv")
    df = pd.concat([tr, te]).merge(pd.read_csv(f"{a.data}/sentirueval2015/{a.dataset}_split.csv"), on="id")
    lang = "ru"
df["text"] = df.text.astype(str)

# ---- seed preprocessing, as seed_pipeline.py
from stop_words import get_stop_words
sw = set(get_stop_words(lang))
exclude = set(string.punctuation)
if lang == "ru":
    import pymorphy3
    morph = pymorphy3.MorphAnalyzer()
    norm = lambda w: morph.parse(w)[0].normal_form
else:
    from nltk.stem.snowball import SnowballStemmer
    st = SnowballStemmer("english")
    norm = st.stem
def prep(t):
    t = "".join(c for c in t if c not in exclude).lower()
    t = re.sub(r"\bне\s+", "не", t)  # glue the negation to its word, as the seed meant
    return " ".join(norm(w) for w in t.split() if w not in sw)

os.makedirs(a.out, exist_ok=True)
with open(os.path.join(a.out, "pipeline.json"), "w") as f:
    json.dump({"lang": lang, "steps": [{"type": "tokenize", "whitespace": True, "lowercase": False}]}, f, indent=2)
for split in ("train", "val", "test"):
    part = df[df.split == split]
    pd.DataFrame({"text": part.text.map(prep), "label": part.label}).to_csv(
        os.path.join(a.out, f"{split}.csv"), index=False)
    print(f"{a.out}/{split}.csv: {len(part)} rows")
