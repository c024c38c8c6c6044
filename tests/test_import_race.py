"""Pages opened at once on a fresh server import safely (issue 17: a load test showed
"partially initialized module 'pandas' has no attribute 'Series'" when two sessions first
imported pages in parallel threads)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from conftest import ROOT

SCRIPT = textwrap.dedent("""
    import random, sys, threading
    sys.path.insert(0, {root!r})
    from dashboard import registry
    modules = [p.module for p in registry.all_pages()]
    errors = []
    barrier = threading.Barrier(6)

    def worker(seed):
        order = modules[:]
        random.Random(seed).shuffle(order)
        barrier.wait()
        for m in order:
            try:
                mod = registry.import_page(m)
                assert callable(mod.render), m
            except Exception as e:  # noqa: BLE001
                errors.append(f"{{m}}: {{type(e).__name__}}: {{e}}")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("\\n".join(errors) or "ok")
    sys.exit(1 if errors else 0)
""")


def test_pages_import_from_many_threads_at_once():
    """Six threads import every page in different orders, in a fresh interpreter."""
    out = subprocess.run([sys.executable, "-c", SCRIPT.format(root=str(ROOT))], capture_output=True, text=True,
                         timeout=600, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert out.stdout.strip().endswith("ok")


def test_import_page_returns_the_module():
    from dashboard import registry

    mod = registry.import_page("pages.single_neuron")
    assert mod is sys.modules["pages.single_neuron"]
    assert registry.import_page("pages.single_neuron") is mod


LOCK_SCRIPT = textwrap.dedent("""
    import sys, threading, time
    sys.path.insert(0, {root!r})
    from dashboard import registry
    assert "pages.positional_encodings" not in sys.modules
    registry._IMPORT_LOCK.acquire()
    t = threading.Thread(target=registry.import_page, args=("pages.positional_encodings",))
    t.start()
    time.sleep(0.5)
    waited = t.is_alive() and "pages.positional_encodings" not in sys.modules
    registry._IMPORT_LOCK.release()
    t.join(120)
    print("waited" if waited else "did not wait", "imported" if "pages.positional_encodings" in sys.modules else "")
""")


def test_first_import_waits_for_the_lock():
    """A first import waits while another session holds the import lock, then completes."""
    out = subprocess.run([sys.executable, "-c", LOCK_SCRIPT.format(root=str(ROOT))], capture_output=True, text=True,
                         timeout=600, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == ["waited", "imported"], out.stdout
