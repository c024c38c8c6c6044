// One plotly chart, updated in place (Streamlit components v2; see dashboard/ui.py:show).
//
// st.plotly_chart gives a chart a new element id whenever its figure changes, so the browser
// throws the old chart away and draws the new one from nothing (about 2,400 DOM changes per
// chart, most of a slider move on a 2-core laptop). Here the chart keeps its key, the same
// <div> stays on the page, and Plotly.react updates only what changed.
//
// data = {spec: figure JSON string, config: plotly config, src: URL of plotly.min.js}
// plotly.min.js is the copy of the installed plotly package that the server serves from
// dashboard/static/ (same origin: nothing is fetched from other hosts).
//
// One load of plotly.js per tab, shared through window.__gslPlotly with the script that
// ui.plotly_preload_html puts at the start of a page run (whichever starts first, the other waits on it).
function plotly(src) {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!window.__gslPlotly) {
    window.__gslPlotly = new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = src;
      s.onload = () => resolve(window.Plotly);
      s.onerror = () => { window.__gslPlotly = null; reject(new Error("cannot load " + src)); };
      document.head.appendChild(s);
    });
  }
  return window.__gslPlotly;
}

// The figure's template is written for a light page; on the page's own colours (the dark
// theme too) text takes the page's text colour and grid lines a faint version of it.
function themed(layout, host) {
  const fg = getComputedStyle(host).color;
  const rgb = (fg.match(/[\d.]+/g) || []).slice(0, 3);
  const t = layout.template && layout.template.layout;
  if (!t || rgb.length < 3) return layout;
  const faint = `rgba(${rgb.join(",")},0.16)`;
  t.font = Object.assign({}, t.font, {color: fg});
  for (const ax of ["xaxis", "yaxis"]) {
    t[ax] = Object.assign({}, t[ax], {gridcolor: faint, zerolinecolor: faint, linecolor: faint, tickcolor: faint});
  }
  const dark = (0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]) / 255 > 0.5;
  if (dark) t.hoverlabel = Object.assign({}, t.hoverlabel, {bgcolor: "#262730", bordercolor: faint});
  return layout;
}

// Full screen for projectors: the chart's box fills the screen and the plot its height.
const FULLSCREEN = {
  name: "fullscreen",
  title: "Full screen",
  icon: {width: 24, height: 24, path: "M4 4h6v2H6v4H4zm10 0h6v6h-2V6h-4zM4 14h2v4h4v2H4zm14 0h2v6h-6v-2h4z"},
  click: (gd) => {
    const box = gd.parentElement;
    if (document.fullscreenElement) { document.exitFullscreen(); return; }
    if (!box.requestFullscreen) return;
    const height = gd.layout.height;
    const app = document.querySelector('[data-testid="stApp"]') || document.body;
    box.style.background = getComputedStyle(app).backgroundColor;
    box.requestFullscreen().then(() => window.Plotly.relayout(gd, {height: window.innerHeight, width: window.innerWidth}));
    box.addEventListener("fullscreenchange", function back() {
      if (document.fullscreenElement) return;
      box.removeEventListener("fullscreenchange", back);
      box.style.background = "";
      window.Plotly.relayout(gd, {height, width: null}).then(() => window.Plotly.Plots.resize(gd));
    });
  },
};

// Margins that only grow. With automargin (the project template's axes, colour bars, legends
// below the plot) plotly draws a figure, measures its labels and, when they need more room
// than the margins it drew with, draws the whole figure a second time. When labels change on
// every update (a new word's tokens, a new range of log-scale ticks) that second pass was a
// third of an update. So each chart starts an update from the margins its last drawing
// settled on (at least the figure's own), and redraws only when the new labels need more.
// A figure whose own margins change (another layout) starts afresh.
function stickyMargins(gd, layout) {
  const own = JSON.stringify(layout.margin || {});
  const last = gd.__gslMargins;
  if (!last || last.own !== own) return layout;
  const margin = Object.assign({}, layout.margin);
  for (const side of ["l", "r", "t", "b"]) margin[side] = Math.max(margin[side] || 0, last[side]);
  return Object.assign({}, layout, {margin});
}

function rememberMargins(gd, layout) {
  const size = gd._fullLayout && gd._fullLayout._size;
  if (!size) return;
  gd.__gslMargins = {own: JSON.stringify(layout.margin || {}), l: size.l, r: size.r, t: size.t, b: size.b};
}

// Charts far from view wait. A page opens with most of its charts below the fold (the
// translation page: 5 charts over 6,600 px, one of them on the first screen), and a widget
// often feeds charts the user cannot see from it. Drawing those at once was most of opening a
// page and of some moves (a heatmap is 50-120 ms of the browser's main thread). So a chart is
// drawn, or updated, when it comes within one screen of the visible part of its scrolling box
// (the way dashboards such as Grafana load panels); off-screen it keeps its reserved height and
// the newest figure it was sent. A chart in a closed tab or expander waits until it is shown.
// Printing draws every chart first; window.gslDrawAll() does so on demand (and tests use it).
// (On window: one set for the page however often this module is evaluated.)
const lazy = window.__gslLazy || (window.__gslLazy = {
  observers: new Map(),  // scrolling box (null: the window) -> IntersectionObserver
  waiting: new Set(),    // charts holding a figure not drawn yet
});
const {observers, waiting} = lazy;

function scrollBox(el) {
  for (let e = el.parentElement; e && e !== document.body; e = e.parentElement) {
    if (/(auto|scroll)/.test(getComputedStyle(e).overflowY)) return e;
  }
  return null;
}

function watch(gd) {
  if (gd.__gslObserver) return;
  const root = scrollBox(gd);
  let io = observers.get(root);
  if (!io) {
    io = new IntersectionObserver((entries) => {
      for (const e of entries) {
        e.target.__gslNear = e.isIntersecting;
        if (e.isIntersecting) draw(e.target);
        else if (e.target.__gslJob) e.target.dataset.gslState = "waiting";
      }
    }, {root, rootMargin: "100% 0px 100% 0px"});
    observers.set(root, io);
  }
  gd.__gslObserver = io;
  io.observe(gd);  // the first report of every observed chart comes on the next frame
}

function draw(gd) {
  const job = gd.__gslJob;
  if (!job) return Promise.resolve();
  gd.__gslJob = null;
  waiting.delete(gd);
  gd.dataset.gslState = "drawing";
  gd.__gslDrawing = (gd.__gslDrawing || 0) + 1;
  return job().then(() => {
    gd.__gslDrawing -= 1;
    if (!gd.__gslDrawing && !gd.__gslJob) gd.dataset.gslState = "drawn";
  }, (err) => {
    gd.__gslDrawing -= 1;
    gd.dataset.gslState = "error";
    gd.textContent = "The chart could not be drawn: " + err.message;
  });
}

if (!window.gslDrawAll) {
  window.gslDrawAll = () => Promise.all(Array.from(waiting).map(draw));
  window.addEventListener("beforeprint", () => { window.gslDrawAll(); });
}

export default function ({parentElement, data}) {
  let box = parentElement.querySelector(":scope > .gsl-chart-box");
  if (!box) {
    box = document.createElement("div");
    box.className = "gsl-chart-box";
    const gd = document.createElement("div");
    gd.className = "gsl-chart";
    gd.setAttribute("data-testid", "gslChart");
    box.appendChild(gd);
    parentElement.appendChild(box);
  }
  const gd = box.firstChild;
  // Same figure, drawn or on its way: nothing to do. (After the chart left the page and came back
  // in the same place, its plot was purged: draw it again.)
  const current = gd.__gslDrawn === data.spec || gd.__gslJob || gd.__gslDrawing;
  if (gd.__gslSpec === data.spec && gd.__gslObserver && current) return undefined;
  gd.__gslSpec = data.spec;
  const fig = JSON.parse(data.spec);
  const layout = fig.layout || {};
  // Reserve the chart's height before it is drawn, so the page does not jump.
  if (!gd.classList.contains("js-plotly-plot")) gd.style.minHeight = (layout.height || 450) + "px";
  const config = Object.assign({}, data.config);
  config.modeBarButtonsToAdd = [FULLSCREEN].concat(config.modeBarButtonsToAdd || []);
  gd.__gslJob = () => plotly(data.src).then((Plotly) => {
    if (gd.__gslSpec !== data.spec) return undefined;  // a newer figure arrived meanwhile
    return Plotly.react(gd, fig.data || [], themed(stickyMargins(gd, layout), parentElement), config)
      .then(() => { rememberMargins(gd, layout); gd.style.minHeight = ""; gd.__gslDrawn = data.spec; });
  });
  waiting.add(gd);
  // state: "pending" until the first report of where it is, then "waiting", "drawing", "drawn"
  if (gd.__gslNear) draw(gd);
  else gd.dataset.gslState = gd.__gslNear === false ? "waiting" : "pending";
  watch(gd);
  // Called when the chart leaves the page (not on updates): free plotly's listeners.
  return () => {
    waiting.delete(gd);
    if (gd.__gslObserver) gd.__gslObserver.unobserve(gd);
    gd.__gslObserver = null;
    gd.__gslJob = null;
    gd.__gslNear = undefined;
    gd.__gslDrawn = undefined;
    if (window.Plotly) window.Plotly.purge(gd);
  };
}
