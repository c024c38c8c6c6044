"""Pig Latin neural machine translation (write-up sections 2.1.4, 2.2): data, encoder-decoder
and decoder-only transformers, training, greedy translation and the shipped models.

Stable interface (other modules, e.g. ``engine.sweeps``, rely on it)::

    pig_latin(word) -> str
    make_dataset(size="small", seed=0) -> NMTData
    TrainConfig, TrainResult, train(config, data=None, progress=None) -> TrainResult
    non_embedding_params(config, vocab_size=None) -> int
    translate(model_or_result, sentence) -> Translation
    load_shipped(name) -> TrainResult
    shipped_results() -> NMTResults   (shipped runs vs the write-up's Table 1 / section 2.2.3)
"""

from engine.nmt.data import EOP, EOS, MAX_WORD_LEN, PAD, SOS, NMTData, Vocab, make_dataset, pig_latin
from engine.nmt.results import NMTResults, shipped_results
from engine.nmt.train import (
    AttentionMap,
    TrainConfig,
    TrainResult,
    Translation,
    WordTranslation,
    accuracy_by_length,
    greedy,
    load_shipped,
    non_embedding_params,
    shipped_names,
    train,
    translate,
)

__all__ = [
    "EOP", "EOS", "MAX_WORD_LEN", "PAD", "SOS", "AttentionMap", "NMTData", "accuracy_by_length", "NMTResults", "TrainConfig", "TrainResult",
    "Translation", "Vocab", "WordTranslation", "greedy", "load_shipped", "make_dataset", "non_embedding_params",
    "pig_latin", "shipped_names", "shipped_results", "train", "translate",
]
