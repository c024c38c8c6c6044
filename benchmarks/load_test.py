"""A class on one server (issue 17): N sessions move sliders while M users press heavy buttons.

    .venv/bin/python benchmarks/load_test.py                    # 30 sessions over 60 s, 5 heavy users
    .venv/bin/python benchmarks/load_test.py --sessions 6 --heavy 2 --ramp 20 --moves 5

Starts ``streamlit run dashboard/app.py`` on a free 127.0.0.1 port (nothing else is contacted)
with the job log on (``GSL_JOBS_LOG``) and a short session grace (``GSL_SESSION_GRACE_S=5``), and
one headless Chromium (Playwright, async) with one browser context per user:

* ``--sessions`` light sessions arrive evenly over ``--ramp`` seconds; each opens one page of
  ``LIGHT_PAGES`` (round robin) and moves its main widget ``--moves`` times (keyboard, as in
  bench_browser.py), timing key press to last update;
* ``--heavy`` users arrive at the start; each opens a page with a heavy button (``HEAVY_BUTTONS``:
  Train, Run sweep), presses it, and stays on the page until the light sessions are done, then
  leaves (its job is then cancelled by the queue when its session ends).

Printed: errors (timeouts, exceptions shown on a page, failed navigations), per page the open
time and the move latency p50 / p95, every job's queue wait (admitted - submitted) and outcome
from the server's job log, the CPU seconds the server (with its children) and the whole machine
used during the light phase (the difference is Chromium and this script: on one 2-core machine
the browsers compete with the server, which a class's own laptops would not), and the server's
RSS (server + children, from /proc) before, at its peak (sampled each second) and after. Every
loop is bounded (moves, sessions, ``--max-s``). ``--job-nice 0`` runs the server without the
jobs' lower CPU priority, to compare.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import bench_browser as bb  # noqa: E402
from benchmarks.browser_moves import HEAVY_BUTTONS, LIGHT_PAGES, Move, main_move  # noqa: E402

TIMEOUT_MS = 120_000


async def _settled(pg, expect_run: bool, timeout_ms: int = TIMEOUT_MS) -> dict:
    await pg.wait_for_function(bb.SETTLED_JS, arg=[bb.QUIET_MS, expect_run, bb.RUN_START_WAIT_MS],
                               timeout=timeout_ms, polling=50)
    return await pg.evaluate("() => { const g = window.__gsl; return {ms: g.last - g.t0, epoch0: g.epoch0}; }")


async def _open(pg, base: str, url_path: str) -> float:
    await pg.goto(f"{base}/{url_path}", wait_until="commit", timeout=TIMEOUT_MS)
    await pg.wait_for_selector('[data-testid="stApp"][data-test-connection-state="CONNECTED"]', timeout=TIMEOUT_MS)
    await pg.wait_for_function(bb.SETTLED_JS, arg=[bb.QUIET_MS, False, 0], timeout=TIMEOUT_MS, polling=50)
    return float(await pg.evaluate("() => window.__gsl.last"))


async def _move(pg, move: Move, i: int) -> float:
    box = pg.locator(f".st-key-{move.key}").first
    if await pg.locator(f".st-key-{move.key}").count() == 0:
        raise bb.WidgetMissing(move.key)
    await box.scroll_into_view_if_needed(timeout=10_000)
    if move.kind == "slider":
        await box.locator('[role="slider"], input[type="range"]').first.focus()
        await pg.evaluate(bb.MARK_JS)
        await pg.keyboard.press("ArrowRight" if i % 2 == 0 else "ArrowLeft")
    elif move.kind in ("text", "textarea"):
        field = box.locator("textarea" if move.kind == "textarea" else "input").first
        await field.fill(move.values[i % len(move.values)] if move.values else f"x{i}")
        await pg.evaluate(bb.MARK_JS)
        await field.press("Control+Enter" if move.kind == "textarea" else "Enter")
    else:
        raise bb.WidgetMissing(f"{move.key}: kind {move.kind} not used by the load test")
    rec = await _settled(pg, expect_run=not move.training)
    if rec["ms"] is None:
        raise RuntimeError("nothing on the page changed after the move")
    return float(rec["ms"])


async def _exceptions(pg) -> int:
    return await pg.locator('[data-testid="stException"]').count()


async def light_session(i, browser, base, url_path, delay, moves, out, errors):
    await asyncio.sleep(delay)
    ctx = await browser.new_context(viewport={"width": 1400, "height": 1000})
    await ctx.add_init_script(script=f"({bb.OBSERVER_JS})()")
    pg = await ctx.new_page()
    rec = out.setdefault(url_path, {"open": [], "move": []})
    try:
        rec["open"].append(await _open(pg, base, url_path))
        move = main_move(url_path)
        for j in range(moves):
            try:
                rec["move"].append(await _move(pg, move, j))
            except bb.WidgetMissing as exc:
                errors.append(f"session {i} ({url_path}): widget missing: {exc}")
                break
            except Exception as exc:  # noqa: BLE001 (counted as an error)
                errors.append(f"session {i} ({url_path}) move {j}: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}")
        n = await _exceptions(pg)
        if n:
            errors.append(f"session {i} ({url_path}): {n} exception(s) shown on the page")
    except Exception as exc:  # noqa: BLE001
        errors.append(f"session {i} ({url_path}) open: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}")
    finally:
        await ctx.close()


async def heavy_user(i, browser, base, url_path, key, light_done, notes, errors):
    ctx = await browser.new_context(viewport={"width": 1400, "height": 1000})
    await ctx.add_init_script(script=f"({bb.OBSERVER_JS})()")
    pg = await ctx.new_page()
    try:
        await _open(pg, base, url_path)
        btn = pg.locator(f".st-key-{key} button").first
        if await pg.locator(f".st-key-{key}").count() == 0:
            notes.append(f"heavy user {i}: no button {key!r} on {url_path}; skipped")
        else:
            await btn.scroll_into_view_if_needed(timeout=10_000)
            await btn.click()
            notes.append(f"heavy user {i}: pressed {key!r} on {url_path}")
            await asyncio.sleep(3)
            n = await _exceptions(pg)
            if n:
                errors.append(f"heavy user {i} ({url_path}): {n} exception(s) shown on the page")
        await light_done.wait()
    except Exception as exc:  # noqa: BLE001
        errors.append(f"heavy user {i} ({url_path}): {type(exc).__name__}: {str(exc).splitlines()[0][:120]}")
    finally:
        await ctx.close()


async def light_session_protocol(i, base, url_path, delay, moves, out, errors):
    """``light_session`` over the websocket protocol (benchmarks/st_client.py): no browser."""
    from benchmarks.st_client import Session

    await asyncio.sleep(delay)
    rec = out.setdefault(url_path, {"open": [], "move": []})
    s = None
    try:
        s, t_open = await Session.open(base, url_path, timeout=TIMEOUT_MS / 1000)
        rec["open"].append(t_open * 1000)
        move = main_move(url_path)
        for j in range(moves):
            try:
                rec["move"].append(await s.move(move.key, j, timeout=TIMEOUT_MS / 1000) * 1000)
            except KeyError as exc:
                errors.append(f"session {i} ({url_path}): widget missing: {exc}")
                break
            except Exception as exc:  # noqa: BLE001 (counted as an error)
                errors.append(f"session {i} ({url_path}) move {j}: {type(exc).__name__}: {str(exc)[:120]}")
        if s.exceptions:
            errors.append(f"session {i} ({url_path}): {s.exceptions} exception(s) sent to the page, first: "
                          f"{s.exception_messages[0]}")
    except Exception as exc:  # noqa: BLE001
        errors.append(f"session {i} ({url_path}) open: {type(exc).__name__}: {str(exc)[:120]}")
    finally:
        if s is not None:
            await s.close()


async def heavy_user_protocol(i, base, url_path, key, light_done, notes, errors):
    """``heavy_user`` over the websocket protocol: opens the page, presses the button, stays (the
    job's progress panel is rerun at the interval the server asks, as a browser tab would)."""
    from benchmarks.st_client import Session

    s = None
    try:
        s, _ = await Session.open(base, url_path, timeout=TIMEOUT_MS / 1000)
        try:
            await s.press(key, timeout=TIMEOUT_MS / 1000)
            notes.append(f"heavy user {i}: pressed {key!r} on {url_path}")
        except KeyError:
            notes.append(f"heavy user {i}: no button {key!r} on {url_path}; skipped")
        await asyncio.sleep(3)
        if s.exceptions:
            errors.append(f"heavy user {i} ({url_path}): {s.exceptions} exception(s) sent to the page")
        await light_done.wait()
    except Exception as exc:  # noqa: BLE001
        errors.append(f"heavy user {i} ({url_path}): {type(exc).__name__}: {str(exc)[:120]}")
    finally:
        if s is not None:
            await s.close()


async def sample_rss(srv, stop: asyncio.Event, peak: list[float]):
    while not stop.is_set():
        peak[0] = max(peak[0], srv.rss_mb())
        try:
            await asyncio.wait_for(stop.wait(), timeout=1.0)
        except TimeoutError:
            pass


def machine_cpu_s() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far (all cores, from /proc/stat)."""
    v = [float(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    idle = v[3] + (v[4] if len(v) > 4 else 0.0)
    return (sum(v) - idle) / hz, sum(v) / hz


def server_cpu_s(srv) -> float:
    """CPU seconds (user + system) used so far by the server, its live descendants and its reaped children."""
    hz = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for i, pid in enumerate([srv.proc.pid, *bb._descendants(srv.proc.pid)]):
        try:
            f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += float(f[11]) + float(f[12]) + (float(f[13]) + float(f[14]) if i == 0 else 0.0)
    return total / hz


async def _phase(srv, args, light_fn, heavy_fn, errors) -> dict:
    """Run the light sessions and heavy users; returns CPU, wall and RSS figures."""
    rss_before = srv.rss_mb()
    peak = [rss_before]
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_rss(srv, stop, peak))
    cpu0, machine0, wall0 = server_cpu_s(srv), machine_cpu_s(), time.monotonic()
    light_done = asyncio.Event()
    heavy = [(p, k) for p, keys in HEAVY_BUTTONS.items() for k in keys]
    heavy_tasks = [asyncio.create_task(heavy_fn(i, *heavy[i % len(heavy)], light_done))
                   for i in range(args.heavy)] if heavy else []
    light = [asyncio.create_task(light_fn(i, LIGHT_PAGES[i % len(LIGHT_PAGES)], args.ramp * i / max(1, args.sessions)))
             for i in range(args.sessions)]
    done, pending = await asyncio.wait(light, timeout=args.max_s)
    cpu1, machine1, wall1 = server_cpu_s(srv), machine_cpu_s(), time.monotonic()
    for t in pending:
        t.cancel()
        errors.append("a light session did not finish within --max-s")
    light_done.set()
    await asyncio.gather(*heavy_tasks, return_exceptions=True)
    # sessions closed: the queue cancels their jobs after the grace; give it time to log
    await asyncio.sleep(8)
    stop.set()
    await sampler
    return {"rss_before": rss_before, "peak": peak[0], "rss_after": srv.rss_mb(), "server_cpu": cpu1 - cpu0,
            "busy": machine1[0] - machine0[0], "available": machine1[1] - machine0[1], "wall": wall1 - wall0}


async def run(args) -> int:
    jobs_log = Path(args.tmp or "/tmp") / f"gsl-load-jobs-{int(time.time())}.jsonl"
    env = {"GSL_JOBS_LOG": str(jobs_log), "GSL_SESSION_GRACE_S": "5"}
    if args.job_nice is not None:
        env["GSL_JOB_NICE"] = str(args.job_nice)
    srv = bb.start_server(env=env)
    load0 = Path("/proc/loadavg").read_text().split()[:3]
    out: dict[str, dict[str, list[float]]] = {}
    errors: list[str] = []
    notes: list[str] = []
    try:
        if args.client == "browser":
            from playwright.async_api import async_playwright

            async with async_playwright() as pw:
                browser = await pw.chromium.launch(executable_path=bb.CHROMIUM, args=bb.CHROMIUM_FLAGS, headless=True)
                # warm the server once (imports, models) so "before" is a served app, not a bare process
                ctx = await browser.new_context()
                await ctx.add_init_script(script=f"({bb.OBSERVER_JS})()")
                await _open(await ctx.new_page(), srv.base, "")
                await ctx.close()
                fig = await _phase(
                    srv, args,
                    lambda i, page, delay: light_session(i, browser, srv.base, page, delay, args.moves, out, errors),
                    lambda i, page, key, done: heavy_user(i, browser, srv.base, page, key, done, notes, errors),
                    errors)
                await browser.close()
        else:
            from benchmarks.st_client import Session

            warm, _ = await Session.open(srv.base, "", timeout=TIMEOUT_MS / 1000)
            await warm.close()
            fig = await _phase(
                srv, args,
                lambda i, page, delay: light_session_protocol(i, srv.base, page, delay, args.moves, out, errors),
                lambda i, page, key, done: heavy_user_protocol(i, srv.base, page, key, done, notes, errors),
                errors)
    finally:
        exit_s = srv.stop()
    load1 = Path("/proc/loadavg").read_text().split()[:3]
    how = "headless Chromium, key press to last update" if args.client == "browser" else \
        "websocket protocol clients, rerun sent to script_finished received (browser drawing not included)"
    print(f"\nLoad test ({how}): {args.sessions} light sessions over {args.ramp:.0f} s, {args.moves} moves each; "
          f"{args.heavy} heavy users. Load average before {' '.join(load0)}, after {' '.join(load1)} (2 cores).")
    for n in notes:
        print(f"  {n}")
    print(f"errors: {len(errors)}")
    for e in errors[:40]:
        print(f"  {e}")
    print("| page | sessions | open p50 / p95 ms | move p50 / p95 ms (moves) |")
    print("|---|---|---|---|")
    for url_path, rec in out.items():
        o, m = rec["open"], rec["move"]
        print(f"| {url_path} | {len(o)} | {bb.pct(o, .5):,.0f} / {bb.pct(o, .95):,.0f} | "
              f"{bb.pct(m, .5):,.0f} / {bb.pct(m, .95):,.0f} ({len(m)}) |")
    print("jobs (from the server's job log):")
    recs = [json.loads(line) for line in jobs_log.read_text().splitlines()] if jobs_log.exists() else []
    for r in recs:
        wait = (f"{r['started'] - r['submitted']:.1f} s" if r.get("started")
                else f"never admitted (left after {r['finished'] - r['submitted']:.1f} s in the queue)")
        ran = f", ran {r['finished'] - r['started']:.1f} s" if r.get("started") and r.get("finished") else ""
        print(f"  {r['kind']}: {r['state']}; queue wait {wait}{ran}" + (f" ({r['error']})" if r.get("error") else ""))
    if not recs:
        print("  none recorded")
    busy, server = fig["busy"], fig["server_cpu"]
    rest = "Chromium and this script" if args.client == "browser" else "this script (the protocol clients)"
    print(f"CPU during the light phase ({fig['wall']:.0f} s wall, {fig['available']:.0f} CPU s available): "
          f"server with its children {server:.0f} s, whole machine busy {busy:.0f} s; the rest of the busy time "
          f"({busy - server:.0f} s) is {rest}")
    print(f"server RSS (with children): before {fig['rss_before']:,.0f} MB, peak {fig['peak']:,.0f} MB, "
          f"after {fig['rss_after']:,.0f} MB; exited {exit_s:.1f} s after SIGTERM")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=30)
    ap.add_argument("--heavy", type=int, default=5)
    ap.add_argument("--ramp", type=float, default=60.0, help="seconds over which light sessions arrive")
    ap.add_argument("--moves", type=int, default=10, help="moves per light session")
    ap.add_argument("--max-s", type=float, default=900.0, help="bound on the whole light phase")
    ap.add_argument("--tmp", default="", help="folder for the job log (default /tmp)")
    ap.add_argument("--job-nice", type=int, default=None,
                    help="GSL_JOB_NICE for the server (default: the server's own default, 10); 0 to compare")
    ap.add_argument("--client", choices=("protocol", "browser"), default="protocol",
                    help="protocol (default): each user is a websocket client speaking Streamlit's protocol "
                         "(benchmarks/st_client.py), so the 2 cores serve the class as its own laptops would draw "
                         "it; browser: each user is a headless Chromium context on the same cores")
    args = ap.parse_args(argv)
    if args.client == "browser" and not Path(bb.CHROMIUM).exists():
        print(f"Chromium not found at {bb.CHROMIUM}")
        return 2
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
