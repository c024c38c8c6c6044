"""Integrity of the shipped Pig Latin assets (``assets/nmt``): a damaged or truncated file is
named, with the command that restores it, instead of surfacing as a raw traceback.

Each asset folder may hold a ``SHA256SUMS`` file (``<hex digest>  <file name>`` per line,
the format of ``sha256sum``), written by the scripts that make the assets
(``scripts/train_nmt.py``, ``scripts/make_nmt_words.py``). :func:`verify` compares a file
with its recorded digest; files without an entry are only checked by parsing them.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

SUMS_NAME = "SHA256SUMS"


class AssetError(Exception):
    """A shipped asset that cannot be used: ``path`` (the file), ``problem`` (what is
    wrong, in words) and ``restore`` (the commands that bring it back)."""

    def __init__(self, path: Path | str, problem: str):
        self.path = Path(path)
        self.problem = problem
        self.restore = restore_hint(self.path)
        super().__init__(f"{self.display_path}: {problem}")

    def __reduce__(self):  # picklable (results holding it are cached with st.cache_data)
        return (AssetError, (self.path, self.problem))

    @property
    def display_path(self) -> str:
        """The file's path inside the repository (``assets/nmt/...``)."""
        return repo_path(self.path)


def repo_path(path: Path) -> str:
    """``assets/nmt/models/x.json`` for any copy of the asset tree (tests use tmp copies)."""
    path = Path(path)
    if path.parent.name == "models":
        return f"assets/nmt/models/{path.name}"
    return f"assets/nmt/{path.name}"


def restore_hint(path: Path) -> str:
    """How to get a good copy back: from git, or by regenerating it."""
    rel = repo_path(path)
    git = f"git checkout -- {rel}"
    name = Path(path).name
    if name == "words.txt":
        regen = "PYTHONPATH=. .venv/bin/python scripts/make_nmt_words.py"
    elif name == "results.csv":
        regen = "PYTHONPATH=. .venv/bin/python scripts/train_nmt.py --summarise"
    elif Path(path).parent.name == "models" and Path(path).suffix in {".json", ".safetensors"}:
        regen = f"PYTHONPATH=. .venv/bin/python scripts/train_nmt.py --only {Path(path).stem}  (retrains it: minutes)"
    else:
        regen = ""
    return f"{git}" + (f"   or regenerate it: {regen}" if regen else "")


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@lru_cache(maxsize=16)
def _sums(folder: str, mtime_ns: int) -> dict[str, str]:
    out = {}
    for line in (Path(folder) / SUMS_NAME).read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split()
        if len(parts) == 2 and len(parts[0]) == 64:
            out[parts[1].lstrip("*")] = parts[0].lower()
    return out


def recorded_sums(folder: Path) -> dict[str, str]:
    """``{file name: sha256}`` from ``folder/SHA256SUMS`` ({} when there is none)."""
    p = Path(folder) / SUMS_NAME
    try:
        return _sums(str(folder), p.stat().st_mtime_ns)
    except OSError:
        return {}


def verify(path: Path) -> None:
    """Raise :class:`AssetError` if ``path`` is missing, empty, or differs from its
    recorded SHA-256 digest."""
    path = Path(path)
    if not path.exists():
        raise AssetError(path, "the file is missing")
    if path.stat().st_size == 0:
        raise AssetError(path, "the file is empty (truncated)")
    want = recorded_sums(path.parent).get(path.name)
    if want is not None and sha256(path) != want:
        raise AssetError(path, "its contents differ from the shipped file (SHA-256 mismatch): damaged or truncated")


def write_sums(folder: Path, pattern: str = "*") -> Path:
    """(Re)write ``folder/SHA256SUMS`` for the files matching ``pattern`` (scripts call this
    after regenerating assets)."""
    folder = Path(folder)
    files = sorted(p for p in folder.glob(pattern) if p.is_file() and p.name != SUMS_NAME)
    text = "".join(f"{sha256(p)}  {p.name}\n" for p in files)
    out = folder / SUMS_NAME
    out.write_text(text, encoding="utf-8")
    return out
