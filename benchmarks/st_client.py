"""A minimal Streamlit client that speaks the app's own websocket protocol, without a browser.

Used by ``benchmarks/load_test.py --client protocol`` (issue 17): thirty students each run their
own browser on their own laptop, so a load test that runs thirty Chromium instances on the
server's two cores measures Chromium as much as the server (it used more CPU than the server did).
This client does what the Streamlit frontend does on the wire and nothing else:

* connects to ``ws://host:port/_stcore/stream`` (subprotocol ``streamlit``);
* opens a page: a ``BackMsg.rerun_script`` whose ``ClientState`` carries the page's URL path
  (``page_name``) and query string, as the frontend sends on load;
* keeps the widgets it is sent (``ForwardMsg.delta`` elements with an ``id``), the fragment each
  belongs to (``Delta.fragment_id``), the last value of each metric, and the query string the
  server sets (``page_info_changed``; URL-bound widgets are written to the URL by the browser, so
  a move does not change it here);
* moves a widget found by its key (Streamlit element ids end in ``-<key>``): a slider or select
  slider one step up or down, a button pressed (``trigger_value``), sending the rerun of the
  widget's fragment when it is in one, as the frontend does;
* answers the server's ``auto_rerun`` requests (``st.fragment(run_every=...)``, the job progress
  panels) with auto reruns at the asked interval while the session is open, as a browser tab does.

A move is timed from sending the rerun to receiving its ``script_finished`` (every delta of the
rerun received; the browser's drawing is not included: ``bench_browser.py`` measures that on a
quiet machine). An ``exception`` element in a rerun is counted on ``Session.exceptions``.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState


class ProtocolError(RuntimeError):
    pass


@dataclass
class Widget:
    id: str
    kind: str  # the Element oneof name: slider, button, ...
    proto: object
    fragment_id: str = ""


@dataclass
class Session:
    """One user's tab. ``await Session.open(base, url_path)`` then ``move`` / ``press``; ``close``."""

    base: str
    url_path: str
    query: str = ""
    widgets: dict[str, Widget] = field(default_factory=dict)
    exceptions: int = 0
    exception_messages: list[str] = field(default_factory=list)
    metrics: dict[str, str] = field(default_factory=dict)  # label -> value, as last sent
    reruns: int = 0
    _ws: object = None
    _reader: asyncio.Task | None = None
    _finished: asyncio.Queue | None = None
    _auto: dict[str, asyncio.Task] = field(default_factory=dict)  # fragment id -> its auto-rerun timer
    _busy: bool = False  # a rerun this session asked for has not finished yet
    _auto_inflight: bool = False  # an auto rerun has been sent and has not finished

    @classmethod
    async def open(cls, base: str, url_path: str, *, timeout: float = 120.0) -> tuple[Session, float]:
        """Connect and run the page once; returns the session and the seconds it took."""
        import websockets

        url_path, _, query = url_path.partition("?")
        s = cls(base=base, url_path=url_path, query=query)
        s._finished = asyncio.Queue()
        t0 = time.perf_counter()
        ws_url = base.replace("http://", "ws://").rstrip("/") + "/_stcore/stream"
        s._ws = await asyncio.wait_for(
            websockets.connect(ws_url, subprotocols=["streamlit"], max_size=None, open_timeout=timeout),
            timeout)
        s._reader = asyncio.create_task(s._read())
        await s._rerun(fragment_id="", widget_states=[])
        await s._wait_finished(timeout)
        return s, time.perf_counter() - t0

    async def close(self) -> None:
        for t in self._auto.values():
            t.cancel()
        self._auto.clear()
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()

    # ------------------------------------------------------------------ moves
    def widget(self, key: str) -> Widget:
        for wid, w in self.widgets.items():
            if wid.endswith("-" + key):
                return w
        raise KeyError(f"no widget with key {key!r} on {self.url_path!r}")

    async def move(self, key: str, i: int, *, timeout: float = 120.0) -> float:
        """Move slider ``key`` one step (up on even ``i``, down on odd); seconds to the end of its rerun."""
        w = self.widget(key)
        p = w.proto
        if w.kind != "slider":
            raise ProtocolError(f"{key!r} is a {w.kind}; the protocol client moves sliders and presses buttons")
        up = i % 2 == 0
        st = WidgetState(id=w.id)
        if p.options:  # select_slider: default holds indices; the state is the formatted option
            cur = int(p.value[0]) if p.value else int(p.default[0])
            nxt = cur + 1 if (up or cur == 0) and cur + 1 < len(p.options) else cur - 1
            st.string_array_value.data.extend([p.options[nxt]])
        else:
            cur = p.value[0] if p.value else p.default[0]
            nxt = cur + p.step if up and cur + p.step <= p.max else cur - p.step
            if nxt < p.min:
                nxt = cur + p.step
            st.double_array_value.data.extend([float(nxt)])
        return await self._timed_rerun(w, st, timeout)

    async def press(self, key: str, *, timeout: float = 120.0) -> float:
        """Press button ``key``; seconds to the end of its rerun."""
        w = self.widget(key)
        return await self._timed_rerun(w, WidgetState(id=w.id, trigger_value=True), timeout)

    async def _timed_rerun(self, w: Widget, state, timeout: float) -> float:
        t0 = time.perf_counter()
        await self._rerun(fragment_id=w.fragment_id, widget_states=[state])
        await self._wait_finished(timeout)
        return time.perf_counter() - t0

    # ------------------------------------------------------------------ wire
    async def _rerun(self, *, fragment_id: str, widget_states: list, auto: bool = False) -> None:
        msg = BackMsg()
        cs = msg.rerun_script
        cs.query_string = self.query
        cs.page_name = self.url_path
        cs.fragment_id = fragment_id
        cs.is_auto_rerun = auto
        cs.widget_states.widgets.extend(widget_states)
        cs.context_info.url = f"{self.base}/{self.url_path}" + (f"?{self.query}" if self.query else "")
        cs.context_info.timezone = "UTC"
        cs.context_info.locale = "en-US"
        if not auto:
            self._busy = True
        await self._ws.send(msg.SerializeToString())

    async def _wait_finished(self, timeout: float) -> None:
        """Wait for the ``script_finished`` of the rerun this session just asked for."""
        try:
            status = await asyncio.wait_for(self._finished.get(), timeout)
        except TimeoutError:
            raise TimeoutError(f"no script_finished within {timeout:.0f} s on {self.url_path!r}") from None
        finally:
            self._busy = False
        if status == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
            raise ProtocolError(f"the page {self.url_path!r} failed to compile")

    async def _read(self) -> None:
        try:
            async for data in self._ws:
                m = ForwardMsg()
                m.ParseFromString(data)
                kind = m.WhichOneof("type")
                if kind == "delta":
                    self._on_delta(m.delta)
                elif kind == "page_info_changed":
                    self.query = m.page_info_changed.query_string
                elif kind == "auto_rerun":
                    self._start_auto(m.auto_rerun.fragment_id, m.auto_rerun.interval)
                elif kind == "stop_auto_rerun":
                    self._stop_auto(m.stop_auto_rerun.fragment_id)
                elif kind == "script_finished":
                    self.reruns += 1
                    if m.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                        self._auto_inflight = False  # an auto rerun interrupted by the user's
                    elif self._busy:
                        await self._finished.put(m.script_finished)
                    else:
                        self._auto_inflight = False
        except Exception:  # noqa: BLE001 (connection closed: waiting callers time out)
            return

    # Auto reruns (fragments with run_every, e.g. a job's progress panel): one timer per fragment,
    # like the frontend's; a timer skips its turn while a rerun is running.
    def _start_auto(self, fragment_id: str, interval: float) -> None:
        self._stop_auto(fragment_id)

        async def loop():
            while True:
                await asyncio.sleep(max(float(interval), 0.1))
                if not self._busy and not self._auto_inflight:
                    self._auto_inflight = True
                    await self._rerun(fragment_id=fragment_id, widget_states=[], auto=True)

        self._auto[fragment_id] = asyncio.create_task(loop())

    def _stop_auto(self, fragment_id: str) -> None:
        t = self._auto.pop(fragment_id, None)
        if t is not None:
            t.cancel()

    def _on_delta(self, delta) -> None:
        if delta.WhichOneof("type") != "new_element":
            return
        el = delta.new_element
        kind = el.WhichOneof("type")
        if kind == "exception":
            self.exceptions += 1
            self.exception_messages.append(f"{el.exception.type}: {el.exception.message}"[:200])
            return
        if kind is None:
            return
        proto = getattr(el, kind)
        if kind == "metric":
            self.metrics[proto.label] = proto.body
        wid = getattr(proto, "id", "")
        if isinstance(wid, str) and wid:
            self.widgets[wid] = Widget(wid, kind, proto, delta.fragment_id)
