"""engine/ must import without Streamlit (DESIGN.md: the engine never draws)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def engine_modules() -> list[str]:
    import engine

    names = ["engine"]
    for info in pkgutil.walk_packages(engine.__path__, prefix="engine."):
        names.append(info.name)
    return names


def test_every_engine_module_imports_without_streamlit():
    modules = engine_modules()
    script = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'streamlit' or name.startswith('streamlit.'):\n"
        "            raise ImportError('streamlit is blocked in engine tests')\n"
        "        return None\n"
        "sys.meta_path.insert(0, Block())\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "import importlib\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        "assert not any(k == 'streamlit' or k.startswith('streamlit.') for k in sys.modules)\n"
        "print('ok', len(" + repr(modules) + "))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-4000:]


def test_block_really_blocks():
    """The blocker used above must make a Streamlit import fail (the test can fail)."""
    script = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'streamlit' or name.startswith('streamlit.'):\n"
        "            raise ImportError('blocked')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import streamlit\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and "blocked" in out.stderr
