"""The explorer's page: a Bokeh document with small CustomJS callbacks, as standalone HTML.

Bokeh draws the map (WebGL), the hover card, the box and lasso selection and the widgets;
the JavaScript here only wires them together: switch the colour (and legend), play a
point's span on a tap, list and export the selection, search. Every model a test or a
reader needs has a ``name``: ``points`` (the glyph), ``points_source`` (the data),
``map``, ``legend``, ``color``, ``search``, ``selected``, ``now_playing``, ``header``.
The page keeps its player in ``window.asttoolsExplorer.player`` (an ``Audio`` element).
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
from bokeh.embed import file_html
from bokeh.layouts import column, row
from bokeh.models import (
    BoxSelectTool,
    Button,
    ColumnDataSource,
    CustomJS,
    Div,
    HoverTool,
    LassoSelectTool,
    Legend,
    LegendItem,
    Range1d,
    Select,
    TapTool,
    TextInput,
)
from bokeh.plotting import figure
from bokeh.resources import INLINE

from ..plots import figure_colors
from ._audio import PageAudio

#: Legend entries shown per colour option (the rest are counted in the legend's title).
MAX_LEGEND_ITEMS = 24
#: Colours of the audio statuses (and of points whose audio is missing).
STATUS_COLORS = {"ok": "#4477aa", "silent": "#bbbbbb", "no_audio_stream": "#ee6677",
                 "audio file missing": "#222222"}
#: Quantile bins of a numeric colour option with many values.
_NUMERIC_BINS = 5
_VIRIDIS5 = ["#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"]

_PLAYER_JS = """
const ex = (window.asttoolsExplorer = window.asttoolsExplorer || {});
if (!ex.player) {
  ex.player = new Audio();
  ex.player.preload = "auto";
  const stopAtEnd = () => {
    if (ex.end != null && ex.player.currentTime >= ex.end) { ex.player.pause(); }
  };
  ex.player.addEventListener("timeupdate", stopAtEnd);
  ex.player.addEventListener("playing", () => {
    clearInterval(ex.timer);
    ex.timer = setInterval(stopAtEnd, 15);
  });
  ex.player.addEventListener("pause", () => clearInterval(ex.timer));
}
"""

_TAP_JS = _PLAYER_JS + """
const idx = source.selected.indices;
if (!idx.length) { return; }
const i = idx[0];
const d = source.data;
const k = d.audio_index[i];
if (k < 0) {
  ex.player.pause();
  now.text = "<b>" + d.point_html[i] + "</b>: cannot play (" + d.audio_note_html[i] + ")";
  return;
}
const a = ex.player;
const start = d.audio_start[i], end = d.audio_end[i];
ex.end = end;
ex.index = i;
const go = () => {
  a.currentTime = start;
  const p = a.play();
  if (p) { p.catch((err) => { now.text = "could not play: " + err; }); }
};
if (a.getAttribute("src") !== sources[k]) {
  a.src = sources[k];
  a.addEventListener("loadedmetadata", go, {once: true});
  a.load();
} else { go(); }
now.text = "playing <b>" + d.point_html[i] + "</b>: " + d.start_s[i].toFixed(2) + "-" +
  d.end_s[i].toFixed(2) + " s";
"""

_COLOR_JS = """
const name = cb_obj.value;
source.data.color = source.data["color:" + name];
source.change.emit();
legend.items = items[name];
legend.title = titles[name];
"""

_SELECTED_JS = """
const idx = source.selected.indices;
const d = source.data;
const names = idx.slice(0, 200).map((i) => d.point_html[i]);
div.text = "<b>" + idx.length + " selected</b>" + (idx.length ? ": " : "") +
  names.join(", ") + (idx.length > 200 ? ", ..." : "");
"""

_CSV_JS = """
const idx = source.selected.indices;
const d = source.data;
const q = (v) => '"' + String(v).replace(/"/g, '""') + '"';
const lines = [columns.join(",")];
for (const i of idx) { lines.push(columns.map((c) => q(d[c][i])).join(",")); }
const csv = lines.join("\\n") + "\\n";
window.asttoolsExplorer = window.asttoolsExplorer || {};
window.asttoolsExplorer.csv = csv;
if (mode === "copy") {
  if (navigator.clipboard) { navigator.clipboard.writeText(csv).catch(() => {}); }
  return;
}
const url = URL.createObjectURL(new Blob([csv], {type: "text/csv"}));
const link = document.createElement("a");
link.href = url;
link.download = "selected_points.csv";
document.body.appendChild(link);
link.click();
link.remove();
setTimeout(() => URL.revokeObjectURL(url), 1000);
"""

_SEARCH_JS = """
const text = cb_obj.value_input.trim().toLowerCase();
const d = source.data;
const hits = [];
if (text) {
  for (let i = 0; i < d.point.length; i++) {
    for (const c of fields) {
      if (String(d[c][i]).toLowerCase().includes(text)) { hits.push(i); break; }
    }
  }
}
source.selected.indices = hits;
"""


def _colors(values: pd.Series, name: str) -> tuple[list[str], list[str]]:
    """A colour per point and the legend's labels (in legend order) for one option."""
    if values.dtype.kind in "if" and values.nunique() > MAX_LEGEND_ITEMS:
        edges = np.unique(np.nanquantile(values.to_numpy(float),
                                         np.linspace(0, 1, _NUMERIC_BINS + 1)))
        bins = np.clip(np.searchsorted(edges, values.to_numpy(float), side="right") - 1,
                       0, len(edges) - 2)
        labels = [f"{edges[b]:.3g} to {edges[b + 1]:.3g}" for b in range(len(edges) - 1)]
        return [_VIRIDIS5[b] for b in bins], [labels[b] for b in bins]
    text = values.astype(str).tolist()
    if name == "audio_status":
        palette = {v: STATUS_COLORS.get(v, "#999999") for v in dict.fromkeys(text)}
    else:
        palette = figure_colors(text)
    return [palette[v] for v in text], text


def build_page(points: pd.DataFrame, xy: np.ndarray, audio: PageAudio, *, options: list[str],
               color: str, header: str, title: str, width: int = 760, height: int = 600):
    """The Bokeh layout of the explorer (call :func:`page_html` for the HTML)."""
    n = len(points)
    data = {c: points[c].astype(str).tolist() if points[c].dtype.kind in "OUSb"
            else points[c].to_numpy() for c in points.columns}
    data.update(
        x=xy[:, 0].astype(float), y=xy[:, 1].astype(float),
        point_html=[html.escape(p) for p in points["point"]],
        audio_index=audio.index.astype(int), audio_start=audio.start.astype(float),
        audio_end=audio.end.astype(float),
        audio_note_html=[html.escape(t) for t in audio.note],
        playable=["yes" if k >= 0 else f"no: {t}" for k, t in zip(audio.index, audio.note,
                                                                  strict=True)],
    )
    legend_labels = {}
    for name in options:
        data[f"color:{name}"], legend_labels[name] = _colors(points[name], name)
    data["color"] = list(data[f"color:{color}"])
    data["line"] = ["#000000" if k < 0 and t.startswith("audio file missing") else "#ffffff"
                    for k, t in zip(audio.index, audio.note, strict=True)]
    source = ColumnDataSource(data, name="points_source")

    ranges = {}
    for axis, values in (("x_range", xy[:, 0]), ("y_range", xy[:, 1])):
        lo, hi = float(np.min(values)), float(np.max(values))
        pad = 0.06 * (hi - lo) if hi > lo else 1.0
        ranges[axis] = Range1d(lo - pad, hi + pad)
    p = figure(width=width, height=height, output_backend="webgl", name="map",
               tools="pan,wheel_zoom,reset,save", toolbar_location="above",
               title=title, **ranges)
    p.xaxis.visible = p.yaxis.visible = False
    p.grid.visible = False
    size = 9 if n <= 500 else 6 if n <= 3000 else 4
    r = p.scatter("x", "y", source=source, size=size, fill_color="color", line_color="line",
                  line_width=1.2 if n <= 3000 else 0.3, fill_alpha=0.85, name="points",
                  nonselection_fill_alpha=0.15, nonselection_line_alpha=0.15,
                  selection_line_color="#000000", selection_line_width=2)

    truth = "<div>truth: <b>@truth</b></div>" if "truth" in points.columns else ""
    hover = HoverTool(renderers=[r], name="hover", tooltips=(
        '<div class="asttools-hover" style="max-width:340px;font-size:12px">'
        "<div><b>@point</b></div>" + truth +
        "<div>status: @audio_status; playable: @playable</div>"
        "<div>@top5{safe}</div></div>"))
    box, lasso = BoxSelectTool(renderers=[r]), LassoSelectTool(renderers=[r])
    now = Div(text="click a point to hear its span", name="now_playing", width=width)
    sources = list(audio.sources)
    tap = TapTool(renderers=[r], callback=CustomJS(args={"source": source, "now": now,
                                                          "sources": sources}, code=_TAP_JS))
    p.add_tools(hover, box, lasso, tap)
    p.toolbar.active_drag = box

    items = {}
    titles = {}
    for name in options:
        labels = legend_labels[name]
        first = {}
        for i, label in enumerate(labels):
            first.setdefault(label, i)
        order = sorted(first, key=lambda v: (-labels.count(v), v))
        shown = order[:MAX_LEGEND_ITEMS]
        items[name] = [LegendItem(label=f"{v} ({labels.count(v)})", renderers=[r],
                                  index=first[v]) for v in shown]
        titles[name] = name + (f" (top {len(shown)} of {len(order)})"
                               if len(order) > len(shown) else "")
    legend = Legend(items=items[color], title=titles[color], name="legend",
                    label_text_font_size="9pt", location="top_left")
    p.add_layout(legend, "right")

    select = Select(title="colour by", value=color, options=options, name="color", width=200)
    select.js_on_change("value", CustomJS(args={"source": source, "legend": legend,
                                                "items": items, "titles": titles},
                                          code=_COLOR_JS))
    fields = [c for c in ("point", "id", "truth", "predicted", "top5") if c in points.columns]
    search = TextInput(title="search id or label", name="search", width=240,
                       placeholder="e.g. alarm_01 or Speech")
    search.js_on_change("value_input", CustomJS(args={"source": source, "fields": fields},
                                                code=_SEARCH_JS))
    selected = Div(text="<b>0 selected</b> (box or lasso on the map; click plays)",
                   name="selected", width=width)
    source.selected.js_on_change("indices", CustomJS(args={"source": source, "div": selected},
                                                     code=_SELECTED_JS))
    csv_columns = [c for c in ("id", "point", "start_s", "end_s", "truth", "predicted",
                               "audio_status", "x", "y") if c in data]
    export = Button(label="export selection (CSV)", name="export_csv", width=180)
    export.js_on_event("button_click", CustomJS(
        args={"source": source, "columns": csv_columns, "mode": "download"}, code=_CSV_JS))
    copy = Button(label="copy selection", name="copy_csv", width=140)
    copy.js_on_event("button_click", CustomJS(
        args={"source": source, "columns": csv_columns, "mode": "copy"}, code=_CSV_JS))
    head = Div(text=header, name="header", width=width + 220)
    return column(head, row(select, search, export, copy), p, now, selected)


def page_html(layout, *, title: str) -> str:
    """Standalone HTML: BokehJS inline (no CDN), the document and its data in the page."""
    return file_html(layout, resources=INLINE, title=title)
