"""`llmstats report --format html` without a browser: self-contained, escaped, built from
the same report functions as every other format, and honouring the window and filters.
(tests/test_dashboard_browser.py opens the same pages in real Chromium.)"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from llmstats.analytics.cli.app import app
from llmstats.analytics.connection import connect
from llmstats.analytics.query import Query
from llmstats.analytics.report.format import human
from llmstats.analytics.report.reports import usage_report
from tests.support.html_page_parts import PageParts, read_page
from tests.support.sample_dataset import (
    HOSTILE_KEY,
    HOSTILE_MODEL,
    HOSTILE_TAG,
    HOSTILE_TEAM,
    HOSTILE_USER,
    write_sample_dataset,
)

runner = CliRunner()
HOSTILE = (HOSTILE_TAG, HOSTILE_MODEL, HOSTILE_TEAM, HOSTILE_KEY, HOSTILE_USER)
# Tags that may fetch something or run something when they carry a URL.
RESOURCE_TAGS = ("script", "link", "img", "iframe", "source", "video", "audio", "object",
                 "embed", "track", "image", "use", "frame", "input", "form", "base", "meta")  # fmt: skip


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample_dataset(tmp_path_factory.mktemp("sample") / "data")


def page(sample: Path, tmp_path: Path, *args: str) -> tuple[str, PageParts]:
    output = tmp_path / "report.html"
    result = runner.invoke(
        app, ["report", *args, "--format", "html", "--output", str(output), "--data-dir", str(sample)]
    )
    assert result.exit_code == 0, result.output
    text = output.read_text(encoding="utf-8")
    return text, read_page(text)


def test_the_page_is_one_file_that_references_nothing_outside_itself(
    sample: Path, tmp_path: Path
) -> None:
    text, parts = page(sample, tmp_path)
    for tag, attrs in parts.tags:
        for name in ("src", "href", "srcset", "data", "poster", "action", "xlink:href"):
            value = (attrs.get(name) or "").strip().lower()
            assert not re.match(r"^(https?:)?//", value), (tag, name, value)
            if tag in RESOURCE_TAGS and name != "href":
                assert not value, f"<{tag} {name}={value!r}> loads a resource"
    assert not [t for t, _ in parts.tags if t in ("link", "img", "iframe", "object", "embed")]
    scripts = [body for attrs, body in parts.scripts if attrs.get("type") != "application/json"]
    assert all(not attrs.get("src") for attrs, _ in parts.scripts)
    assert len(scripts) == 2, "plotly.js and the page's own script, both inline"
    assert "plotly.js (basic - minified) v" in scripts[0] and len(scripts[0]) > 1_000_000
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", text), "a stylesheet fetches a URL"
    # The policy forbids every fetch and allows exactly the page's own scripts.
    (policy,) = [
        a["content"] for t, a in parts.tags
        if t == "meta" and (a.get("http-equiv") or "").lower() == "content-security-policy"
    ]  # fmt: skip
    assert policy and "default-src 'none'" in policy and "connect-src" not in policy
    hashes = set(re.findall(r"'sha256-([^']+)'", policy))
    assert hashes == {
        base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() for s in scripts
    }


def test_every_user_chosen_string_is_escaped(sample: Path, tmp_path: Path) -> None:
    # Filtered to the hostile calls, every chart and table is made of their names.
    for args in ((), ("--where", f"tag={HOSTILE_TAG}")):
        text, parts = page(sample, tmp_path, *args)
        for hostile in HOSTILE:
            assert hostile not in text, hostile
        assert "alert(" not in "".join(body for _, body in parts.scripts[1:])
        assert len([t for t, _ in parts.tags if t == "script"]) == 3
        assert not [t for t, _ in parts.tags if t in ("img", "svg")]
        assert not [a for _, a in parts.tags if any(k.startswith("on") for k in a)]
        recent = parts.table_rows("recent")
        hostile_rows = [r for r in recent if r["model"] == HOSTILE_MODEL]
        assert len(hostile_rows) == 4
        assert {r["tags"] for r in hostile_rows} == {HOSTILE_TAG}
        assert {r["team"] for r in hostile_rows} == {HOSTILE_TEAM}
        assert {r["key"] for r in hostile_rows} == {HOSTILE_KEY}
    # In chart JSON, names are HTML-escaped (plotly.js renders a subset of HTML in labels).
    charts = parts.charts()
    team_labels = charts["spenders-team"]["data"][0]["y"]
    assert team_labels == ['"&gt;&lt;svg onload=alert(3)&gt;']
    assert charts["spenders-tag"]["data"][0]["y"] == ["&lt;script&gt;alert(1)&lt;/script&gt;"]
    models = {t["name"] for t in charts["cost-trend"]["data"]}
    assert models == {'&lt;img src=x onerror="alert(2)"&gt;'}


def test_the_page_is_built_from_the_same_reports_as_the_other_formats(
    sample: Path, tmp_path: Path
) -> None:
    args = ("--by", "team", "--top", "5")
    text, parts = page(sample, tmp_path, *args)
    result = runner.invoke(app, ["report", *args, "--format", "json", "--data-dir", str(sample)])
    assert result.exit_code == 0, result.output
    expected = json.loads(result.stdout)
    overview = parts.table_rows("overview")
    assert [r["team"] for r in overview] == [r["team"] for r in expected["rows"]]
    assert [r["cost_usd"] for r in overview] == [
        human("cost_usd", r["cost_usd"]) for r in expected["rows"]
    ]
    # A FinOps card shows the report's own total.
    cost = human("cost_usd", expected["totals"]["cost_usd"])
    assert f'<div class="label">Cost</div><div class="value">{cost}</div>' in text
    # Top spenders by team: the same top five, the same costs, in hover values.
    bars = parts.charts()["spenders-team"]["data"][0]
    assert [c[0] for c in reversed(bars["customdata"])] == [r["team"] for r in expected["rows"]]
    assert [c[1] for c in reversed(bars["customdata"])] == [r["cost_usd"] for r in overview]
    # (Sums may differ in the last bit: DuckDB adds in parallel, in no fixed order.)
    assert bars["x"][::-1] == pytest.approx([r["cost_usd"] for r in expected["rows"]], rel=1e-12)


def test_window_filters_and_time_zone_reach_every_view(sample: Path, tmp_path: Path) -> None:
    args = ("--since", "2026-11-10", "--until", "2026-11-14", "--tz", "America/New_York",
            "--where", "team=Team 01")  # fmt: skip
    text, parts = page(sample, tmp_path, *args)
    query = Query.parse(since="2026-11-10", until="2026-11-14", tz="America/New_York",
                        where=["team=Team 01"])  # fmt: skip
    totals = usage_report(connect(str(sample)), query).totals
    assert totals["calls"] > 100
    charts = parts.charts()
    traffic = charts["traffic"]["data"][0]
    assert sum(traffic["y"]) == totals["calls"]
    days = {x for chart in ("cost-trend", "traffic", "errors-by-class", "latency-trend")
            for trace in charts[chart]["data"] for x in trace["x"]}  # fmt: skip
    assert days == {f"2026-11-{d}" for d in range(10, 15)}
    recent = parts.table_rows("recent")
    assert recent and {r["team"] for r in recent} == {"Team 01"}
    # Times are New York times: the window's first and last local days, never the UTC ones.
    assert all("2026-11-10 00:00:00" <= r["time"] <= "2026-11-14 23:59:59" for r in recent)
    assert max(r["time"] for r in recent) > "2026-11-14 19:00:00"  # UTC would end at 19:00
    assert "time zone America/New_York" in text and "team = Team 01" in text
    assert sum(int(r["calls"].replace(",", "")) for r in parts.table_rows("overview")) == totals["calls"]


def test_other_reports_render_as_a_plain_page_without_plotly(sample: Path, tmp_path: Path) -> None:
    output = tmp_path / "errors.html"
    result = runner.invoke(app, ["report", "errors", "-f", "html", "-o", str(output),
                                 "--data-dir", str(sample)])  # fmt: skip
    assert result.exit_code == 0, result.output
    text = output.read_text()
    parts = read_page(text)
    assert len(text) < 200_000 and "plotly.js (basic - minified) v" not in text
    assert len(parts.scripts) == 1 and not parts.charts(), "only the page's own script"
    rows = parts.table_rows("rows")
    assert rows and {"provider", "model", "error", "failures"} <= set(rows[0])


def test_an_empty_data_dir_gives_a_page_that_says_so(tmp_path: Path) -> None:
    output = tmp_path / "empty.html"
    empty = tmp_path / "nothing-here"
    result = runner.invoke(app, ["report", "-f", "html", "-o", str(output), "--data-dir", str(empty)])
    assert result.exit_code == 0, result.output
    text = output.read_text()
    assert "No events yet under" in text and "No data in this window." in text
    assert "plotly.js (basic - minified) v" not in text and not read_page(text).charts()


def test_report_requests_lists_recent_calls_newest_first(sample: Path) -> None:
    result = runner.invoke(app, ["report", "requests", "--top", "7", "-f", "json",
                                 "--where", "status=failure", "--data-dir", str(sample)])  # fmt: skip
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = json.loads(result.stdout)["rows"]
    assert len(rows) == 7 and {r["status"] for r in rows} == {"failure"}
    assert [r["time"] for r in rows] == sorted((r["time"] for r in rows), reverse=True)
    assert rows[0]["model"] == HOSTILE_MODEL and rows[0]["error"] == "RateLimitError"
    result = runner.invoke(app, ["report", "requests", "--by", "model", "--data-dir", str(sample)])
    assert result.exit_code == 2 and "drop --by" in result.stderr


def test_the_cli_does_not_import_the_html_modules_until_asked() -> None:
    """`llmstats --help` stays fast: plotly and the page modules load for --format html only."""
    code = (
        "import sys, llmstats.analytics.cli.app; "
        "print(sorted(m for m in sys.modules if m.startswith(('plotly', 'llmstats.analytics.html',"
        " 'llmstats.analytics.report.dashboard'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    result = runner.invoke(app, ["report", "--help"])
    assert "html" in result.output


def test_every_figure_the_pages_draw_is_valid_plotly(sample: Path, tmp_path: Path) -> None:
    """charts.py builds figures as plain dicts (plotly's validation at run time cost ~30 ms
    a chart): every figure the dashboard's pages and the HTML report draw, over a year, a
    day and an empty window, goes through plotly's graph_objects here, which raise on a
    misspelt property or a bad value, and comes back unchanged."""
    import plotly.graph_objects as go

    from llmstats.analytics.connection import open_dataset
    from llmstats.analytics.web import panels

    def valid(name: str, figure: dict[str, Any]) -> None:
        checked = go.Figure(data=figure["data"], layout=figure["layout"])
        again = {"data": [trace.to_plotly_json() for trace in checked.data],
                 "layout": checked.layout.to_plotly_json()}
        assert json.loads(json.dumps(again)) == json.loads(json.dumps(figure)), name

    figures: list[tuple[str, dict[str, Any]]] = []
    dataset = open_dataset(str(sample))
    for window in ({"since": "365d"}, {"since": "2026-11-20", "until": "2026-11-20"},
                   {"since": "2020-01-01", "until": "2020-01-02"}):
        query = Query.parse(**window)
        pages = [panels.overview(dataset, query, spenders=by) for by in panels.SPENDERS]
        pages += [panels.engineering(dataset, query, latency_by=by) for by in panels.LATENCY_BY]
        pages.append(panels.segments(dataset, query))
        figures += [(f"{window} {c['id']}", c["figure"]) for p in pages for c in p["charts"]]
    _, parts = page(sample, tmp_path, "--since", "365d")
    figures += list(parts.charts().items())
    assert len({name.split()[-1] for name, _ in figures}) >= 10, "every kind of chart"
    for name, figure in figures:
        valid(name, figure)
