"""The plan as one self-contained HTML page: calendar grids per channel and SVG charts.

Pure: plain values in (`Report`), a string out. No script, style or image comes from the
network; the charts are inline SVG drawn here; one small inline script counts what the page
shows into its summary line (what a browser test reads back from the DOM).
"""

from __future__ import annotations

import html
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

#: Cell colours per distribution state (also the chart's).
STATE_COLOURS = {
    "ASSIGNED": "#9ecae1",
    "SCHEDULED": "#4292c6",
    "PUBLISHING": "#fdae6b",
    "PUBLISHED": "#31a354",
    "FAILED": "#de2d26",
    "CANCELLED": "#bdbdbd",
}


#: Beyond this many channels the success-rate heat map starts folded.
OPEN_CHART_CHANNELS = 40


@dataclass(frozen=True)
class Booking:
    """A distribution as a cell shows it."""

    distribution_id: str
    video_id: str
    state: str
    method: str
    score: int
    highlighted: bool = False
    #: What a proposal (or run) does to this cell: "added", "moved-in", "moved-out",
    #: "dropped", or "" (unchanged).
    change: str = ""


@dataclass(frozen=True)
class Slot:
    """One posting instant of a channel: its local day and time, what holds it, and why it is
    shaded (`blocked`: "blackout", "outage", "inactive" or "")."""

    at: datetime
    day: date
    local_time: str
    booking: Booking | None = None
    blocked: str = ""
    on_calendar: bool = True


@dataclass(frozen=True)
class ChannelWeek:
    """A channel's slots over the report's days."""

    channel_id: str
    display_name: str
    platform: str
    timezone: str
    slots: list[Slot]


@dataclass(frozen=True)
class Report:
    """Everything the page shows."""

    title: str
    generated: datetime
    days: list[date]
    channels: list[ChannelWeek]
    #: Distributions by state, over every distribution read (not only the window's).
    states: Counter[str] = field(default_factory=Counter)
    #: channel id -> day -> (published, failed), for the success-rate chart.
    outcomes: dict[str, dict[date, tuple[int, int]]] = field(default_factory=dict)
    highlight_label: str = ""


def render(report: Report) -> str:
    """The whole page."""
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(report.title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{e(report.title)}</h1>",
        f'<p class="meta">generated {e(report.generated.isoformat(timespec="seconds"))}; '
        f"days {e(report.days[0].isoformat())} to {e(report.days[-1].isoformat())} "
        "in each channel's own timezone"
        + (f"; highlighted: {e(report.highlight_label)}" if report.highlight_label else "")
        + "</p>",
        '<p id="summary">counting...</p>',
        _legend(),
        '<section class="charts">',
        _state_chart(report.states),
        _success_chart(report),
        "</section>",
    ]
    parts += [_channel_grid(week, report.days) for week in report.channels]
    parts += [f"<script>{_SCRIPT}</script>", "</body></html>"]
    return "\n".join(parts)


def _legend() -> str:
    items = "".join(f'<span class="cell state-{s}">{s.lower()}</span>' for s in STATE_COLOURS) + (
        '<span class="cell free">free</span><span class="cell blocked-blackout">blackout</span>'
        '<span class="cell blocked-outage">outage</span>'
        '<span class="cell highlighted">highlighted</span>'
        '<span class="cell change-added">proposed</span>'
        '<span class="cell change-dropped">dropped / moved away</span>'
    )
    return f'<p class="legend">{items}</p>'


def _channel_grid(week: ChannelWeek, days: list[date]) -> str:
    e = html.escape
    times = sorted({s.local_time for s in week.slots})
    by_place: dict[tuple[str, date], list[Slot]] = {}
    for s in week.slots:
        by_place.setdefault((s.local_time, s.day), []).append(s)
    head = "".join(f"<th>{d.strftime('%a %d %b')}</th>" for d in days)
    rows = []
    for t in times:
        cells = "".join(_cell(by_place.get((t, d), [])) for d in days)
        rows.append(f"<tr><th>{e(t)}</th>{cells}</tr>")
    filled = sum(1 for s in week.slots if s.booking is not None)
    return (
        f'<section class="channel" data-channel="{e(week.channel_id)}">'
        f"<h2>{e(week.display_name or week.channel_id)} <small>{e(week.channel_id)} · "
        f"{e(week.platform)} · {e(week.timezone)} · {filled} of {len(week.slots)} slots "
        f"filled</small></h2>"
        f'<table class="grid"><thead><tr><th></th>{head}</tr></thead>'
        f"<tbody>{''.join(rows) or _no_slots(len(days))}</tbody></table></section>"
    )


def _no_slots(columns: int) -> str:
    return f'<tr><td colspan="{columns + 1}" class="none">no slots in these days</td></tr>'


def _cell(slots: list[Slot]) -> str:
    if not slots:
        return '<td class="none"></td>'
    return "<td>" + "".join(_slot(s) for s in slots) + "</td>"


def _slot(s: Slot) -> str:
    e = html.escape
    at = s.at.isoformat()
    classes = ["cell", "slot"]
    if s.blocked:
        classes.append(f"blocked-{s.blocked}")
    if not s.on_calendar:
        classes.append("off-calendar")
    b = s.booking
    if b is None:
        classes.append("free")
        title = f"{at}: free" + (f" ({s.blocked})" if s.blocked else "")
        return f'<div class="{" ".join(classes)}" data-at="{at}" title="{e(title)}">free</div>'
    classes.append(f"state-{b.state}")
    if b.highlighted:
        classes.append("highlighted")
    title = f"{at}: {b.video_id} {b.state} {b.method} score {b.score} ({b.distribution_id})"
    change = ""
    if b.change:
        classes.append(f"change-{b.change}")
        title += f"; proposed: {b.change}"
        change = f' data-change="{b.change}"'
    return (
        f'<div class="{" ".join(classes)}" data-at="{at}" data-video="{e(b.video_id)}" '
        f'data-state="{b.state}"{change} title="{e(title)}">{e(b.video_id)}'
        f'<span class="value">{b.score}</span></div>'
    )


def _state_chart(states: Counter[str]) -> str:
    """Horizontal bars: distributions per state."""
    width, bar, gap, label = 420, 18, 6, 110
    top = max(states.values(), default=0) or 1
    rows = []
    for i, state in enumerate(STATE_COLOURS):
        n = states.get(state, 0)
        y = i * (bar + gap)
        length = (width - label - 60) * n / top
        rows.append(
            f'<text x="0" y="{y + 13}">{state.lower()}</text>'
            f'<rect x="{label}" y="{y}" width="{length:.1f}" height="{bar}" '
            f'fill="{STATE_COLOURS[state]}" data-state="{state}" data-count="{n}"/>'
            f'<text x="{label + length + 4:.1f}" y="{y + 13}">{n}</text>'
        )
    height = len(STATE_COLOURS) * (bar + gap)
    return (
        "<figure><figcaption>Distributions by state</figcaption>"
        f'<svg id="states-chart" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">{"".join(rows)}</svg></figure>'
    )


def _success_chart(report: Report) -> str:
    """A heat map: per channel (rows) and day (columns), published / (published + failed)."""
    cell, label = 16, 150
    days = report.days
    channels = [w.channel_id for w in report.channels]
    width = label + cell * len(days) + 10
    height = cell * len(channels) + 20
    out = [
        f'<text x="{label + i * cell}" y="12" class="tiny">{d.day}</text>'
        for i, d in enumerate(days)
    ]
    for r, cid in enumerate(channels):
        y = 16 + r * cell
        out.append(f'<text x="0" y="{y + 12}" class="tiny">{html.escape(cid[:24])}</text>')
        for c, d in enumerate(days):
            published, failed = report.outcomes.get(cid, {}).get(d, (0, 0))
            if published + failed == 0:
                fill, tip = "#f0f0f0", "no outcome"
            else:
                rate = published / (published + failed)
                fill = f"hsl({rate * 120:.0f}, 70%, 45%)"
                tip = f"{rate:.0%} of {published + failed}"
            out.append(
                f'<rect x="{label + c * cell}" y="{y}" width="{cell - 1}" height="{cell - 1}" '
                f'fill="{fill}"><title>{html.escape(cid)} {d}: {tip}</title></rect>'
            )
    chart = (
        f'<svg id="success-chart" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">{"".join(out)}</svg>'
    )
    caption = "Upload success rate per channel and day (green 100%, red 0%, grey: no outcome)"
    if len(channels) <= OPEN_CHART_CHANNELS:
        return f"<figure><figcaption>{caption}</figcaption>{chart}</figure>"
    # Hundreds of rows would push every grid far down the page: folded, one click away.
    return (
        f"<figure><details><summary><b>{caption}</b>, {len(channels)} channels</summary>"
        f"{chart}</details></figure>"
    )


_CSS = """
body{font:13px system-ui,sans-serif;margin:16px;color:#222}
h1{font-size:20px;margin:0 0 4px} h2{font-size:15px;margin:18px 0 4px}
h2 small{font-weight:normal;color:#666} .meta{color:#666;margin:0 0 8px}
#summary{font-weight:bold} .charts{display:flex;gap:32px;flex-wrap:wrap}
figure{margin:8px 0} figcaption{font-weight:bold;margin-bottom:4px} svg text{font-size:12px}
svg text.tiny{font-size:9px}
table.grid{border-collapse:collapse} .grid th{font-weight:normal;color:#555;padding:1px 4px}
.grid td{border:1px solid #ddd;padding:1px;vertical-align:top;min-width:88px}
.grid td.none{background:repeating-linear-gradient(45deg,#fafafa,#fafafa 4px,#eee 4px,#eee 8px)}
.cell{display:block;padding:2px 4px;margin:1px;border-radius:3px;white-space:nowrap;
overflow:hidden;text-overflow:ellipsis;max-width:150px;color:#fff}
.legend .cell{display:inline-block;margin-right:4px}
.cell.free{background:#fff;color:#999;border:1px dashed #bbb}
.cell .value{float:right;margin-left:6px;opacity:.8}
.blocked-blackout{background:#444 !important;color:#ddd !important}
.blocked-outage{background:repeating-linear-gradient(45deg,#fcbba1,#fcbba1 4px,#fff 4px,#fff 8px)
!important;color:#a50f15 !important}
.highlighted{outline:3px solid #ff00aa;outline-offset:-1px}
.off-calendar{font-style:italic}
.change-added,.change-moved-in{outline:3px dashed #ff00aa;outline-offset:-1px}
.change-dropped,.change-moved-out{text-decoration:line-through;opacity:.55}
.legend .change-added,.legend .change-dropped{color:#222;background:#fff}
.legend .highlighted{color:#222;background:#fff}
""" + "".join(f".state-{s}{{background:{c}}}" for s, c in STATE_COLOURS.items())

# Counts what the page shows, so that a browser test can read back what was rendered.
_SCRIPT = """
(function(){
  var slots=document.querySelectorAll('.grid .slot');
  var filled=document.querySelectorAll('.grid .slot[data-video]');
  var marked=document.querySelectorAll('.grid .slot.highlighted');
  var changed=document.querySelectorAll('.grid .slot[data-change]');
  var s=document.getElementById('summary');
  s.textContent='channels '+document.querySelectorAll('section.channel').length+
    ' · slots '+slots.length+' · filled '+filled.length+' · free '+
    (slots.length-filled.length)+' · highlighted '+marked.length+
    (changed.length ? ' · changes '+changed.length : '');
  s.setAttribute('data-ready','1');
})();
"""
