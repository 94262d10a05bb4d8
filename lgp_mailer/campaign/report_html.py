"""The committee report as one HTML page in Hungarian, readable offline.

Charts are inline SVG drawn by matplotlib (the de facto standard for static
charts, BSD-style licence, no browser JavaScript): its SVG backend writes
text as paths, so the page needs no fonts, scripts or files from anywhere.
Every value goes through Jinja2 with autoescape; the SVG is matplotlib's own
output, made only from numbers and escaped labels.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import TYPE_CHECKING

from lgp_mailer.campaign.report import STAGE_LABELS, STAGES, ReportData

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

LOCALE = "hu_HU"
COLOURS = ("#1f4e79", "#2e75b6", "#c00000", "#70ad47", "#ffc000", "#7030a0", "#5b9bd5")

PAGE = """<!DOCTYPE html>
<html lang="hu">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 96rem; padding: 0 1rem; color: #1a1a1a; }
table { border-collapse: collapse; margin: 1rem 0 2rem; font-size: .85rem; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #bbb; padding: .25rem .5rem; }
td.n { text-align: right; }
th { background: #e8eef6; text-align: left; }
figure { margin: 1rem 0 2rem; }
.wide { overflow-x: auto; }
figure svg { max-width: 100%; height: auto; }
</style>
</head>
<body>
<h1>{{ title }}</h1>
<p>{{ summary }}</p>
<h2>Tölcsér kampányonként</h2>
{{ tables.funnel }}
<figure>{{ charts.funnel }}<figcaption>Levelek száma szakaszonként, kampányonként.</figcaption></figure>
<h2>Megyék szerint</h2>
<figure>{{ charts.county }}<figcaption>Meghívott, kézbesített és részt vevő címek megyénként \
(a kiválasztott kampányok összesen).</figcaption></figure>
{{ tables.county }}
<h2>Szerepkörök szerint</h2>
{{ tables.role }}
<h2>A sorozat</h2>
{{ tables.series }}
<h3>Hány konferencián vettek részt a települések?</h3>
{{ tables.repeat }}
<h3>Megyék, ahová egyetlen meghívó sem jutott el</h3>
{% if unreached %}<ul>{% for county in unreached %}<li>{{ county }}</li>{% endfor %}</ul>
{% else %}<p>Nincs ilyen megye: minden megyébe eljutott legalább egy meghívó.</p>{% endif %}
<p><small>Részvétel: legalább {{ threshold }} perc a konferencián. Csak összesítések: a jelentés \
nem tartalmaz neveket és e-mail-címeket.</small></p>
</body>
</html>
"""

TABLE = """<div class="wide"><table>
<thead><tr>{% for h in headers %}<th scope="col">{{ h }}</th>{% endfor %}</tr></thead>
<tbody>{% for row in rows %}<tr>{% for cell, numeric in row %}<td{% if numeric %} class="n"{% endif %}>\
{{ cell }}</td>{% endfor %}</tr>
{% endfor %}</tbody>
</table></div>"""


def write_page(data: ReportData, path: Path, *, threshold: float) -> None:
    from jinja2 import Environment
    from markupsafe import Markup

    env = Environment(autoescape=True, keep_trailing_newline=True)
    table = env.from_string(TABLE)
    keyed = {"campaign_id": "Kampány", "county": "Megye", "role": "Szerepkör"}

    def stages(frame: pd.DataFrame, keys: list[str]) -> Markup:
        headers = [keyed[k] for k in keys] + [STAGE_LABELS["invited"]]
        headers += [h for s in STAGES[1:] for h in (STAGE_LABELS[s], f"{STAGE_LABELS[s]} %")]
        rows = []
        for record in frame.to_dict("records"):
            cells = [(str(record[k]), False) for k in keys] + [(_count(record["invited"]), True)]
            for stage in STAGES[1:]:
                cells += [(_count(record[stage]), True), (_percent(record[f"{stage}_rate"]), True)]
            rows.append(cells)
        return Markup(table.render(headers=headers, rows=rows))

    series_rows = [
        [
            (str(r["campaign_id"]), False),
            (_count(r["attending"]), True),
            (_count(r["new"]), True),
            (_count(r["returning"]), True),
        ]
        for r in data.series.to_dict("records")
    ]
    repeat_rows = [
        [(_count(r["conferences"]), True), (_count(r["municipalities"]), True)] for r in data.repeat.to_dict("records")
    ]
    invited = int(data.funnel["invited"].sum())
    page = env.from_string(PAGE).render(
        title="Jelentés az Irányító Bizottságnak: elérés és részvétel",
        summary=f"{len(data.campaigns)} konferencia, {_count(invited)} meghívó levél: "
        + ", ".join(data.campaigns)
        + ".",
        tables={
            "funnel": stages(data.funnel, ["campaign_id"]),
            "county": stages(data.by_county, ["campaign_id", "county"]),
            "role": stages(data.by_role, ["campaign_id", "role"]),
            "series": Markup(
                table.render(headers=["Kampány", "Részt vevő települések", "Új", "Visszatérő"], rows=series_rows)
            ),
            "repeat": Markup(table.render(headers=["Konferenciák száma", "Települések"], rows=repeat_rows)),
        },
        charts={
            "funnel": Markup(_svg(_funnel_figure(data), "funnel")),
            "county": Markup(_svg(_county_figure(data), "county")),
        },
        unreached=data.unreached,
        threshold=_count(threshold),
    )
    path.write_text(page, encoding="utf-8")


def _count(value: object) -> str:
    from babel.numbers import format_decimal

    return str(format_decimal(float(value), format="#,##0.#", locale=LOCALE))  # type: ignore[arg-type]


def _percent(value: object) -> str:
    from babel.numbers import format_percent

    return str(format_percent(float(value), format="#,##0.0%", locale=LOCALE))  # type: ignore[arg-type]


def _funnel_figure(data: ReportData) -> Figure:
    from matplotlib.figure import Figure

    counted = list(STAGES)
    figure = Figure(figsize=(10, 4.5))
    axes = figure.subplots()
    width = 0.8 / max(len(data.funnel), 1)
    for offset, record in enumerate(data.funnel.to_dict("records")):
        xs = [i + offset * width for i in range(len(counted))]
        axes.bar(
            xs,
            [record[s] for s in counted],
            width,
            label=_label(record["campaign_id"]),
            color=COLOURS[offset % len(COLOURS)],
        )
    axes.set_xticks(
        [i + 0.4 - width / 2 for i in range(len(counted))], [STAGE_LABELS[s] for s in counted], rotation=15, ha="right"
    )
    axes.set_ylabel("Levelek")
    axes.legend(fontsize="small")
    figure.tight_layout()
    return figure


def _county_figure(data: ReportData) -> Figure:
    from matplotlib.figure import Figure

    totals = data.by_county.groupby("county")[["invited", "delivered", "attended"]].sum().sort_index(ascending=False)
    figure = Figure(figsize=(10, max(3.0, 0.35 * len(totals) + 1)))
    axes = figure.subplots()
    height = 0.27
    ys = list(range(len(totals)))
    for index, stage in enumerate(("invited", "delivered", "attended")):
        axes.barh(
            [y + (1 - index) * height for y in ys],
            totals[stage].tolist(),
            height,
            label=STAGE_LABELS[stage],
            color=COLOURS[index],
        )
    axes.set_yticks(ys, [_label(c) for c in totals.index])
    axes.set_xlabel("Levelek")
    axes.legend(fontsize="small", loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, frameon=False)
    figure.tight_layout()
    return figure


def _label(value: object) -> str:
    """A sheet's text as a chart label: matplotlib reads "$…$" as mathematics (and stops on a bad one)."""
    return str(value).replace("$", r"\$")


def _svg(figure: Figure, salt: str) -> str:
    """The figure as an inline <svg> element: text as paths, ids unique to this chart."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": salt}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return re.sub(r"\A.*?(?=<svg)", "", text, flags=re.DOTALL)


__all__ = ["write_page"]
