"""The HTML dashboard in real headless Chromium (Debian's `chromium`, driven by Playwright,
which never downloads a browser of its own here).

A developer without chromium may set LLMSTATS_SKIP_BROWSER_TESTS=1; otherwise a missing
browser fails these tests (`make test` installs it), so CI cannot pass by skipping them.
Screenshots land in tests/artifacts/ (gitignored).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from llmstats.analytics.cli.app import app
from llmstats.analytics.connection import connect
from llmstats.analytics.query import Query
from llmstats.analytics.report.format import human
from llmstats.analytics.report.recent import recent_requests_report
from llmstats.analytics.report.reports import usage_report
from tests.support.sample_dataset import (
    HOSTILE_MODEL,
    HOSTILE_TAG,
    HOSTILE_TEAM,
    HOSTILE_USER,
    isolated_environment,
    write_sample_dataset,
)

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
SKIP_ENV = "LLMSTATS_SKIP_BROWSER_TESTS"
CHARTS = ("cost-trend", "savings-trend", "spenders-team", "spenders-key", "spenders-user",
          "spenders-tag", "segments", "traffic", "errors-by-class", "latency-trend", "latency",
          "ttft", "context")  # fmt: skip


def chromium_path() -> str:
    found = os.environ.get("LLMSTATS_CHROMIUM") or shutil.which("chromium")
    if found:
        return found
    if os.environ.get(SKIP_ENV) == "1":
        pytest.skip(f"chromium is not installed and {SKIP_ENV}=1")
    pytest.fail(
        "Debian's chromium is not installed: `make test` installs it (apt-get install chromium); "
        f"set {SKIP_ENV}=1 to skip the browser tests on a machine without it"
    )


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample_dataset(tmp_path_factory.mktemp("sample") / "data")


def write_page(sample: Path, output: Path, *args: str) -> Path:
    result = CliRunner().invoke(
        app, ["report", *args, "-f", "html", "-o", str(output), "--data-dir", str(sample)]
    )
    assert result.exit_code == 0, result.output
    return output


@pytest.fixture(scope="module")
def dashboard(sample: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    scratch = tmp_path_factory.mktemp("page")
    with isolated_environment(scratch):
        return write_page(sample, scratch / "report.html")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), headless=True)
        yield launched
        launched.close()


class Visit:
    """A page opened from file://, recording everything that should never happen."""

    def __init__(self, browser: Any, path: Path, **context: Any) -> None:
        self.context = browser.new_context(**context)
        self.problems: list[str] = []
        self.requests: list[str] = []
        self.page = self.context.new_page()
        url = path.resolve().as_uri()
        page = self.page
        page.on("console", lambda m: m.type in ("error", "warning") and self.problems.append(
            f"console {m.type}: {m.text}"))  # fmt: skip
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on("dialog", lambda d: (self.problems.append(f"dialog: {d.message}"), d.dismiss()))
        page.on("requestfailed", lambda r: self.problems.append(f"request failed: {r.url}"))

        def route(request_route: Any) -> None:
            self.requests.append(request_route.request.url)
            if request_route.request.url == url:
                request_route.continue_()
            else:
                request_route.abort()

        self.context.route("**/*", route)
        page.goto(url, wait_until="load")
        page.wait_for_function(
            "document.querySelectorAll('.plot .main-svg').length >= "
            "document.querySelectorAll('.plot').length"
        )
        self.url = url

    def assert_clean(self) -> None:
        assert self.problems == []
        assert self.requests == [self.url], "the page asked for something besides itself"

    def horizontal_overflow(self) -> int:
        return int(self.page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"))  # fmt: skip

    def close(self) -> None:
        self.context.close()


def points(visit: Visit, chart: str) -> int:
    """Data marks plotly drew in a chart: bars, line points/segments."""
    return int(visit.page.evaluate(
        """id => document.querySelectorAll(
            `#chart-${id} .trace.bars .point path, #chart-${id} .trace.scatter .point,
             #chart-${id} .trace.scatter path.js-line`).length""",
        chart,
    ))  # fmt: skip


def test_the_dashboard_renders_its_charts_with_data_and_fetches_nothing(
    browser: Any, sample: Path, dashboard: Path
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    visit = Visit(browser, dashboard, viewport={"width": 1280, "height": 900})
    try:
        visit.assert_clean()
        drawn = {chart: points(visit, chart) for chart in CHARTS}
        assert all(count > 0 for count in drawn.values()), drawn
        assert drawn["cost-trend"] >= 30 and drawn["spenders-team"] == 10
        assert_bars_visible(visit, TIME_BAR_CHARTS)
        # Hovering the largest team's bar shows its cost as the report computes it.
        top = usage_report(connect(str(sample)), Query.parse(by="team", top=10)).rows.to_pylist()[0]
        bars = visit.page.locator("#chart-spenders-team .trace.bars .point path")
        # plotly draws the first category at the bottom: the top bar is the last one.
        hover = hover_text(visit, "spenders-team", bars.count() - 1)
        assert hover.startswith(top["team"]) and human("cost_usd", top["cost_usd"]) in hover, hover
        assert visit.horizontal_overflow() <= 0
        visit.page.screenshot(path=str(ARTIFACTS / "dashboard-light.png"), full_page=True)
        visit.assert_clean()
    finally:
        visit.close()


TIME_BAR_CHARTS = ("cost-trend", "savings-trend", "traffic", "errors-by-class")


def bar_widths(visit: Visit, chart: str) -> list[float]:
    """The drawn width (px) of every bar of a chart: a data point plotly keeps may still be
    drawn 0 px wide (a lone bar on a date axis), which no user can see or hover."""
    return [float(w) for w in visit.page.evaluate(
        """id => [...document.querySelectorAll(`#chart-${id} .trace.bars .point path`)]
            .map(bar => bar.getBoundingClientRect().width)""",
        chart,
    )]  # fmt: skip


def assert_bars_visible(visit: Visit, charts: tuple[str, ...]) -> None:
    for chart in charts:
        widths = bar_widths(visit, chart)
        assert widths and min(widths) >= 2, (chart, widths)


def hover_text(visit: Visit, chart: str, bar: int) -> str:
    """Move a real mouse over bar number `bar` of a chart; the hover label's text.
    (plotly listens on the plot area above the bars, so this is a mouse move, not a
    hover on the bar element.)"""
    target = visit.page.locator(f"#chart-{chart} .trace.bars .point path").nth(bar)
    target.evaluate("bar => bar.scrollIntoView({block: 'center'})")
    box = target.bounding_box()
    assert box is not None
    visit.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    label = visit.page.locator(f"#chart-{chart} .hoverlayer .hovertext")
    label.wait_for()
    return label.text_content() or ""


def test_the_search_box_filters_the_requests_table(
    browser: Any, sample: Path, dashboard: Path
) -> None:
    recent = recent_requests_report(connect(str(sample)), Query.parse(top=500)).rows.to_pylist()
    visit = Visit(browser, dashboard, viewport={"width": 1280, "height": 900})
    rows = visit.page.locator("#recent tbody tr")
    visible = visit.page.locator("#recent tbody tr:not([hidden])")
    box = visit.page.locator("#recent-search")
    count = visit.page.locator("#recent-search-count")
    try:
        assert rows.count() == len(recent) == 500 and visible.count() == 500
        model = "claude-opus-4-1"
        expected = sum(1 for r in recent if r["model"] == model)
        assert 0 < expected < 100
        box.fill(model)
        assert visible.count() == expected
        assert count.text_content() == f"{expected} of 500 rows"
        assert all(model in (t or "") for t in visible.all_text_contents())
        # Every word must match: a trace id plus its status narrows to that call.
        failure = next(r for r in recent if r["status"] == "failure")
        box.fill(f"failure {failure['trace_id']}")
        expected_rows = [r for r in recent if r["trace_id"] == failure["trace_id"]
                         and r["status"] == "failure"]  # fmt: skip
        assert visible.count() == len(expected_rows) >= 1
        # The hostile tag is found, and shows as text (it ran nowhere: no dialog).
        box.fill("alert(1)")
        assert visible.count() == 4
        assert HOSTILE_TAG in (visible.first.text_content() or "")
        box.fill("")
        assert visible.count() == 500
        visit.assert_clean()
    finally:
        visit.close()


def test_dark_mode_and_a_narrow_screen(browser: Any, dashboard: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    for name, context in (
        ("dark", {"viewport": {"width": 1280, "height": 900}, "color_scheme": "dark"}),
        ("narrow", {"viewport": {"width": 375, "height": 812}, "is_mobile": True,
                    "device_scale_factor": 2}),
        ("narrow-dark", {"viewport": {"width": 375, "height": 812}, "color_scheme": "dark"}),
    ):  # fmt: skip
        visit = Visit(browser, dashboard, **context)
        try:
            visit.assert_clean()
            assert visit.horizontal_overflow() <= 0, name
            widest = visit.page.evaluate(
                "Math.max(...[...document.querySelectorAll('.plot .main-svg')]"
                ".map(s => s.getBoundingClientRect().right))"
            )
            assert widest <= context["viewport"]["width"], name
            assert all(points(visit, chart) > 0 for chart in CHARTS), name
            background, text, tick = visit.page.evaluate(
                """() => [getComputedStyle(document.body).backgroundColor,
                          getComputedStyle(document.body).color,
                          getComputedStyle(document.querySelector('#chart-cost-trend .xtick text')).fill]"""
            )
            dark = "dark" in name
            assert (luminance(background) < 0.2) == dark, (name, background)
            assert (luminance(text) > 0.6) == dark, (name, text)
            assert (luminance(tick) > 0.6) == dark, (name, tick)
            visit.page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"), full_page=True)
        finally:
            visit.close()


def test_hostile_names_render_as_text_in_charts_and_tables(
    browser: Any, sample: Path, tmp_path: Path
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    path = write_page(sample, tmp_path / "hostile.html", "--where", f"tag={HOSTILE_TAG}")
    visit = Visit(browser, path, viewport={"width": 1280, "height": 900})
    try:
        labels = visit.page.locator("#chart-spenders-team .ytick text").all_text_contents()
        assert labels == [HOSTILE_TEAM]
        tags = visit.page.locator("#chart-spenders-tag .ytick text").all_text_contents()
        assert tags == [HOSTILE_TAG]
        # Markup plotly.js would honour shows as the literal text, tags and all.
        users = visit.page.locator("#chart-spenders-user .ytick text").all_text_contents()
        assert users == [HOSTILE_USER]
        assert visit.page.locator("#chart-spenders-user .ytick text b, .ytick [font-weight]").count() == 0
        # One day of data: each time-bucketed bar still spans its day (plotly draws a lone
        # bar on a date axis 0 px wide unless told its width).
        assert_bars_visible(visit, ("cost-trend", "traffic", "errors-by-class"))
        assert hover_text(visit, "cost-trend", 0).startswith(HOSTILE_MODEL)
        assert visit.page.locator("svg [onload], img, script[src]").count() == 0
        visit.page.screenshot(path=str(ARTIFACTS / "dashboard-hostile.png"), full_page=True)
        visit.assert_clean()
    finally:
        visit.close()


def luminance(css_color: str) -> float:
    """Relative luminance of an `rgb(…)`/`rgba(…)` colour, 0 (black) to 1 (white)."""
    inside = css_color[css_color.index("(") + 1 : css_color.index(")")]
    r, g, b = (float(v) / 255 for v in inside.replace("/", ",").split(",")[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b
