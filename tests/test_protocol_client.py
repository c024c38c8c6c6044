"""The load test's protocol client (benchmarks/st_client.py) drives the real server as the
frontend does: pages open, sliders move, the app writes them to the URL, no exception."""

from __future__ import annotations

import asyncio
import concurrent.futures

from benchmarks.st_client import Session


def _run(coro):
    """Run ``coro`` in a thread of its own: Playwright's sync API (the browser fixture, alive for
    the whole session) keeps an event loop running in the main thread."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def test_protocol_client_moves_a_panel_slider(streamlit_server):
    async def go():
        s, _ = await Session.open(streamlit_server, "single-neuron")
        try:
            w = s.widget("sn_x")
            assert w.kind == "slider"
            assert w.fragment_id, "input x lives in a panel (st.fragment): its move reruns only that panel"
            before, shown = s.reruns, dict(s.metrics)
            await s.move("sn_x", 0)
            assert s.reruns == before + 1
            assert s.metrics["f(x) = h_n"] != shown["f(x) = h_n"]  # the panel was recomputed at the new x
            return s.exceptions, s.exception_messages
        finally:
            await s.close()

    n, messages = _run(go())
    assert n == 0, messages


def test_protocol_client_moves_a_select_slider_and_presses_nothing_else(streamlit_server):
    async def go():
        s, _ = await Session.open(streamlit_server, "attention")
        try:
            assert s.widget("at_temp").proto.options  # a select slider: the state is the option's label
            before = s.reruns
            for i in range(3):
                await s.move("at_temp", i)
            return s.reruns - before, s.exceptions, s.exception_messages
        finally:
            await s.close()

    reruns, n, messages = _run(go())
    assert n == 0, messages
    assert reruns == 3


def test_protocol_client_names_a_missing_widget(streamlit_server):
    async def go():
        s, _ = await Session.open(streamlit_server, "single-neuron")
        try:
            s.widget("no_such_key")
        finally:
            await s.close()

    import pytest

    with pytest.raises(KeyError, match="no_such_key"):
        _run(go())
