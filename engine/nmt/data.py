"""Pig Latin data (write-up section 2): the rule, the word list, datasets, the vocabulary.

Pig Latin rule used here (the standard one; examples from the issue):

* a word that starts with a vowel (a, e, i, o, u) gets "way":   am -> amway
* otherwise its leading consonant cluster moves to the end and "ay" follows:
  shopping -> oppingshay, string -> ingstray
* "qu" stays together with the cluster: queen -> eenquay, square -> aresquay
* "y" is a consonant at the start (yellow -> ellowyay) and a vowel after it
  (rhythm -> ythmrhay, my -> ymay)
* a word with no vowel at all gets "ay": hmm -> hmmay

The word list ``assets/nmt/words.txt`` (21k whole lowercase words of the BERT WordPiece
vocabulary, made by ``scripts/make_nmt_words.py``). Splits are fixed by ``seed``: a
held-out test set and a validation set shared by both dataset sizes, and the training
words of "small" are a subset of those of "large".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from engine.nmt import assets

WORDS_PATH = Path(__file__).resolve().parents[2] / "assets" / "nmt" / "words.txt"
VOWELS = frozenset("aeiou")
LETTERS = "abcdefghijklmnopqrstuvwxyz"
SOS, EOS, EOP, PAD = "<SOS>", "<EOS>", "<EOP>", "<PAD>"
MAX_WORD_LEN = 20  # longest source word the models accept (longer words are cut, with a note)
DATASET_SIZES = {"small": 4000, "large": 16000}  # training words
N_VAL, N_TEST = 600, 1000


def pig_latin(word: str) -> str:
    """Translate one lowercase word to Pig Latin (rules in the module docstring).

    Non-letters are not part of the rule; callers strip them first. ``""`` -> ``""``.
    """
    w = word.lower()
    if not w:
        return ""
    if w[0] in VOWELS:
        return w + "way"
    i = 0
    while i < len(w):
        c = w[i]
        if c in VOWELS or (c == "y" and i > 0):
            break
        if c == "q" and i + 1 < len(w) and w[i + 1] == "u":
            i += 2
            continue
        i += 1
    return w[i:] + w[:i] + "ay"


@dataclass(frozen=True)
class Vocab:
    """Characters a..z plus SOS, EOS, EOP, PAD. ``stoi`` / ``itos`` map both ways."""

    itos: tuple[str, ...] = tuple(LETTERS) + (SOS, EOS, EOP, PAD)

    @property
    def stoi(self) -> dict[str, int]:
        return {s: i for i, s in enumerate(self.itos)}

    def __len__(self) -> int:
        return len(self.itos)

    @property
    def sos(self) -> int:
        return self.itos.index(SOS)

    @property
    def eos(self) -> int:
        return self.itos.index(EOS)

    @property
    def eop(self) -> int:
        return self.itos.index(EOP)

    @property
    def pad(self) -> int:
        return self.itos.index(PAD)

    def encode(self, text: str) -> list[int]:
        s = self.stoi
        return [s[c] for c in text]

    def decode(self, ids) -> str:
        return "".join(self.itos[i] for i in ids if self.itos[i] in LETTERS)


@dataclass
class NMTData:
    """Word pairs (source, Pig Latin target) for training, validation and held-out test."""

    name: str
    train: list[tuple[str, str]]
    val: list[tuple[str, str]]
    test: list[tuple[str, str]]
    vocab: Vocab = field(default_factory=Vocab)

    @property
    def max_len(self) -> int:
        return max(len(s) for s, _ in self.train + self.val + self.test)


def load_words() -> tuple[str, ...]:
    """The shipped word list; raises :class:`engine.nmt.assets.AssetError` (naming the file
    and how to restore it) when it is missing, damaged or truncated."""
    return _load_words(str(WORDS_PATH))


@lru_cache(maxsize=2)
def _load_words(path_str: str) -> tuple[str, ...]:
    path = Path(path_str)
    assets.verify(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise assets.AssetError(path, f"cannot be read as UTF-8 text ({type(e).__name__})") from None
    words = [w.strip() for w in text.splitlines()]
    out = tuple(w for w in words if w and w.isalpha() and w.isascii() and len(w) <= MAX_WORD_LEN)
    need = N_TEST + N_VAL + DATASET_SIZES["large"]
    if len(out) < need:
        raise assets.AssetError(path, f"holds {len(out)} usable words, fewer than the {need} the datasets need "
                                      "(truncated?)")
    return out


def make_dataset(size: str = "small", seed: int = 0) -> NMTData:
    """Fixed splits of the shipped word list: ``N_TEST`` held-out test words and ``N_VAL``
    validation words (the same for both sizes at a given seed), then ``DATASET_SIZES[size]``
    training words ("small" is a subset of "large"). Words are lowercase a-z, 2-12 letters.
    ``size`` may also be "tiny" (400 training words; for tests)."""
    sizes = dict(DATASET_SIZES, tiny=400)
    if size not in sizes:
        raise ValueError(f"unknown dataset size {size!r}; choose from {sorted(sizes)}")
    words = np.array(load_words())
    order = np.random.default_rng(seed).permutation(len(words))
    test = [str(w) for w in words[order[:N_TEST]]]
    val = [str(w) for w in words[order[N_TEST : N_TEST + N_VAL]]]
    train = [str(w) for w in words[order[N_TEST + N_VAL : N_TEST + N_VAL + sizes[size]]]]

    def pairs(ws):
        return [(w, pig_latin(w)) for w in ws]

    return NMTData(size, pairs(train), pairs(val), pairs(test))
