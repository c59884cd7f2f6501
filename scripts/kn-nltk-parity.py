#!/usr/bin/env python3
"""Writes the fixture that holds rnnlab's `kneser-ney` (Discount::Fixed) to NLTK's
KneserNeyInterpolated: a small token stream, and P(word | context) from NLTK for every trigram
of the stream and for every vocabulary word after a few contexts.

Run in the reference environment (../shared/anchors/setup.sh):
  python scripts/kn-nltk-parity.py > crates/rnnlab-baselines/tests/fixtures/kn_nltk.json
"""
import json

import nltk
from nltk.lm import KneserNeyInterpolated
from nltk.util import everygrams

TEXT = (
    "the cat sat on the mat . the dog sat on the log . a cat saw the dog . "
    "the dog saw a cat on the mat . a dog sat . the cat ran to the log and the dog ran too . "
    "on the mat the cat sat and saw the dog ."
)
ORDER, DISCOUNT = 3, 0.75

words = TEXT.split()
vocab = sorted(set(words))
ids = {w: i for i, w in enumerate(vocab)}
stream = [ids[w] for w in words]
lm = KneserNeyInterpolated(ORDER, discount=DISCOUNT)
lm.fit([everygrams(words, max_len=ORDER)], vocab)

queries = []
contexts = {tuple(words[i - 2:i]) for i in range(2, len(words))} | {tuple(words[i - 1:i]) for i in range(1, len(words))}
for ctx in sorted(contexts):
    for w in vocab:
        try:
            p = lm.score(w, list(ctx))
        except ZeroDivisionError:  # a context seen only at the start of the stream
            continue
        queries.append({"context": [ids[c] for c in ctx], "word": ids[w], "p": p})
print(json.dumps({"nltk": nltk.__version__, "order": ORDER, "discount": DISCOUNT,
                  "vocab_size": len(vocab), "stream": stream, "queries": queries}))
