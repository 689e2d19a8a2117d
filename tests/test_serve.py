"""`llmstats serve`: the real command in a subprocess on a free loopback port, over a data
dir the project's generator and real EventWriter wrote, driven by Debian's chromium through
Playwright (which downloads no browser here), and compared with `llmstats report`'s JSON.

The pages run under a Content-Security-Policy without 'unsafe-eval', so the checks use
selectors and attributes (no `wait_for_function` strings). Screenshots land in
tests/artifacts/ (gitignored).
"""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from typer.testing import CliRunner

from llmstats.analytics.cli.app import app
from tests.support.event_data import write_events
from tests.support.moto_server import s3_env, use_fresh_bucket
from tests.support.processes import stop
from tests.support.rows import BASE_TS, event_row
from tests.support.sample_dataset import (
    HOSTILE_KEY,
    HOSTILE_MODEL,
    HOSTILE_TEAM,
    write_sample_dataset,
)
from tests.test_dashboard_browser import chromium_path

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
EVENTS = 4_000
PAGES = ("overview", "engineering", "segments", "requests", "health", "audit")
TOKEN = "t0ken-for-the-dashboard-tests-0123456789"
STARTUP_SECONDS = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_env(scratch: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMSTATS_")}
    env.update(LLMSTATS_CONFIG=str(scratch / "no-config.toml"), XDG_CACHE_HOME=str(scratch / "cache"),
               XDG_STATE_HOME=str(scratch / "state"), LITELLM_LOCAL_MODEL_COST_MAP="True",
               LLMSTATS_DATA_DIR=str(scratch / "unused"), **extra)  # fmt: skip
    return env


@contextmanager
def serving(data_dir: Path | str, scratch: Path, *options: str, **env: str) -> Iterator[str]:
    """`llmstats serve` on a free loopback port; its base URL once it answers."""
    port = free_port()
    command = [str(Path(sys.executable).with_name("llmstats")), "serve", "--port", str(port),
               "--data-dir", str(data_dir), "--poll-seconds", "0.5", *options]
    process = subprocess.Popen(command, env=server_env(scratch, **env), stderr=subprocess.PIPE,
                               stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    err = process.stderr.read().decode() if process.stderr else ""
                    pytest.fail(f"llmstats serve did not start: {err}")
                time.sleep(0.1)
        yield base
    finally:
        stop(process, timeout=10)


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(urllib.request.Request(url, headers=headers or {}), timeout=60) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def get_json(url: str) -> Any:
    status, _, body = get(url)
    assert status == 200, body
    return json.loads(body)


def listing(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from llmstats.plugin.audit import append_entry

    data_dir = write_sample_dataset(tmp_path_factory.mktemp("serve") / "data", events=EVENTS)
    append_entry(str(data_dir), "export", {"format": "csv"}, {"rows": 12})  # the real audit log
    write_deployment_calls(data_dir)
    return data_dir


DEPLOYMENTS = ("azure-eastus-1", "azure-westeu-2", "openai-direct")


def write_deployment_calls(data_dir: Path) -> None:
    """Streamed calls on three router deployments over 2026-11-15..18 (the generator
    writes none with a deployment id), through the real EventWriter."""
    from llmstats.plugin.config import load_settings
    from llmstats.plugin.writer import EventWriter

    chooser = random.Random(7)
    day0 = 1_794_700_800_000_000  # 2026-11-15 00:00 UTC, in µs
    writer = EventWriter(load_settings(data_dir=str(data_dir), flush_seconds=3600),
                         writer_id="router")
    for i in range(120):
        deployment = DEPLOYMENTS[i % 3]
        start = day0 + chooser.randrange(4 * 86_400_000_000)
        latency = chooser.uniform(200, 4000) * (1 + DEPLOYMENTS.index(deployment))
        writer.submit({"event_id": f"router-{i}", "trace_id": f"router-{i}", "ts": start,
                       "end_ts": start + int(latency * 1000), "stream": True,
                       "first_token_ts": start + int(latency * chooser.uniform(50, 300)),
                       "call_type": "chat", "status": "success", "provider": "azure"
                       if deployment.startswith("azure") else "openai", "model": "gpt-4o",
                       "deployment_id": deployment, "team_alias": "router-team",
                       "input_tokens": 500, "output_tokens": 80})  # fmt: skip
    writer.close()


@pytest.fixture(scope="module")
def server(sample: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serving(sample, tmp_path_factory.mktemp("server")) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), headless=True)
        print(f"chromium {launched.version}")  # which browser these results are from
        yield launched
        launched.close()


class Visit:
    """A browser tab on the dashboard that records what should never happen: console
    errors (CSP violations among them), page errors, dialogs, requests to other origins."""

    def __init__(self, browser: Any, base: str, **context: Any) -> None:
        self.base = base
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, **context)
        self.problems: list[str] = []
        self.page = self.context.new_page()
        page = self.page
        page.on("console", lambda m: m.type in ("error", "warning") and self.problems.append(
            f"console {m.type}: {m.text}"))  # fmt: skip
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on("dialog", lambda d: (self.problems.append(f"dialog: {d.message}"), d.dismiss()))
        page.on("request", lambda r: r.url.startswith(base) or self.problems.append(
            f"request elsewhere: {r.url}"))  # fmt: skip

    def open(self, path: str) -> None:
        self.page.goto(self.base + path)
        self.wait_loaded(1)

    def loads(self) -> int:
        return int(self.page.locator("body").get_attribute("data-loads") or 0)

    def wait_loaded(self, at_least: int) -> None:
        """Until the page drew its data `at_least` times since it was opened, and every
        chart on it is drawn."""
        self.page.wait_for_selector(
            ",".join(f'body[data-loads="{n}"]' for n in range(at_least, at_least + 20)))
        self.page.wait_for_selector(".plot:not([data-drawn])", state="detached")

    def card(self, name: str) -> float:
        value = self.page.locator(f"#card-{name}").get_attribute("data-value")
        assert value is not None, name
        return float(value)

    def assert_clean(self) -> None:
        assert self.problems == []

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def visit(browser: Any, server: str) -> Iterator[Visit]:
    opened = Visit(browser, server)
    yield opened
    opened.close()


def cli_json(sample: Path | str, *args: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, [*args, "-f", "json", "--data-dir", str(sample)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def same_numbers(ours: Any, theirs: Any) -> None:
    """Equal, floats up to summation order (DuckDB sums in parallel)."""
    if isinstance(theirs, float) or isinstance(ours, float):
        assert ours == pytest.approx(theirs, rel=1e-9, abs=1e-12)
    elif isinstance(theirs, dict):
        assert set(ours) == set(theirs)
        for key in theirs:
            same_numbers(ours[key], theirs[key])
    elif isinstance(theirs, list):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs, strict=True):
            same_numbers(a, b)
    else:
        assert ours == theirs


def test_every_page_renders_data_reads_nothing_elsewhere_and_writes_nothing(
    visit: Visit, sample: Path
) -> None:
    before = listing(sample)
    ARTIFACTS.mkdir(exist_ok=True)
    drawn = {}
    for name in PAGES:
        visit.open(f"/{name}")
        assert visit.page.locator(".error").count() == 0, visit.page.locator(".error").all_text_contents()
        drawn[name] = (visit.page.locator(".plot[data-drawn]").count(),
                       visit.page.locator("tbody tr").count())
        # A chart's box holds its title, words, pickers and plot: no stray text.
        assert visit.page.evaluate("""() => [...document.querySelectorAll("section.chart")]
            .flatMap((s) => [...s.childNodes]).filter((n) => n.nodeType === Node.TEXT_NODE
            && n.textContent.trim()).length""") == 0, name  # fmt: skip
        visit.page.screenshot(path=str(ARTIFACTS / f"serve-{name}.png"))
    assert drawn["overview"][0] == 3 and drawn["engineering"][0] == 7, drawn
    assert drawn["segments"][0] == 1 and all(rows > 0 for _, rows in drawn.values()), drawn
    # Bars of the per-day charts have a visible width (a lone bar once had none).
    visit.open("/overview")
    widths = [box["width"] for box in (b.bounding_box() for b in visit.page.locator(
        "#chart-cost-trend .trace.bars .point path").all()) if box]  # fmt: skip
    assert widths and min(widths) >= 2
    # The top-spenders tabs, and the what-if repricing on another catalog model.
    visit.page.locator('button[data-spenders="tag"]').click()
    visit.wait_loaded(2)
    assert "spenders=tag" in visit.page.url
    assert visit.page.locator("#chart-spenders-tag .trace.bars .point path").count() == 10
    visit.open("/overview?what_if=gpt-4o-mini")
    assert visit.page.locator("#table-what-if tbody tr").count() > 0
    visit.open("/audit")
    assert "Verified: 1 entries" in visit.page.locator("#verified").inner_text()
    assert visit.page.locator("#table-audit tbody tr").count() == 1
    visit.assert_clean()
    assert listing(sample) == before, "the dashboard wrote into the data dir"


def test_the_api_answers_as_llmstats_report_does_on_random_filters(
    server: str, sample: Path
) -> None:
    chooser = random.Random(22)
    pool = {dim: [v["value"] for v in get_json(f"{server}/api/values?dim={dim}&limit=8")["values"]]
            for dim in ("team", "model", "provider", "tag", "status")}  # fmt: skip
    assert all(pool.values()), pool
    checked = 0
    for report, by in (("usage", "team"), ("usage", "model"), ("errors", ""), ("latency", ""),
                       ("savings", "day")):
        dims = chooser.sample(sorted(pool), 2)
        where = [f"{d}={chooser.choice(pool[d])}" for d in dims]
        since = chooser.choice(["", "2026-11-05"])
        args = ["report"] + ([report] if report != "usage" else [])
        args += [f"--where={w}" for w in where] + (["--by", by] if by else [])
        args += ["--since", since] if since else []
        theirs = cli_json(sample, *args)
        query = urlencode([("where", w) for w in where] + ([("by", by)] if by else [])
                          + ([("since", since)] if since else []))
        ours = get_json(f"{server}/api/report/{report}?{query}")
        same_numbers(ours["rows"], theirs["rows"])
        same_numbers(ours.get("totals", {}), theirs.get("totals", {}))
        checked += len(theirs["rows"])
    assert checked > 0


def test_a_repeated_request_is_answered_from_the_answer_cache(server: str) -> None:
    query = "?where=provider=openai&bucket=day"
    first = get_json(f"{server}/api/page/segments{query}")
    before = get_json(f"{server}/api/page/health")["answers"]
    assert get_json(f"{server}/api/page/segments{query}") == first
    after = get_json(f"{server}/api/page/health")["answers"]
    assert after["hits"] == before["hits"] + 1 and after["answers"] >= 1
    # The token is not part of the key; another query string is another answer.
    get_json(f"{server}/api/page/segments?where=provider=anthropic")
    assert get_json(f"{server}/api/page/health")["answers"]["hits"] == after["hits"]


QUANTILES = {"p50_latency_ms", "p95_latency_ms", "p50_ttft_ms", "p95_ttft_ms"}


def test_the_unpriced_models_are_the_cli_rows_of_those_labels(server: str, sample: Path) -> None:
    """The overview asks only for the default and $0 groups (and nothing when the totals
    have none), without quantiles; its rows are still `report --by priced_by,model`'s of
    those labels."""
    for where in ([], ["provider=openai"], ["priced_by=catalog"]):
        theirs = cli_json(sample, "report", "--by", "priced_by,model",
                          *[f"--where={w}" for w in where])
        expected = [r for r in theirs["rows"] if r["priced_by"] in ("default", "catalog_zero")]
        page = get_json(f"{server}/api/page/overview?" + urlencode([("where", w) for w in where]))
        unpriced = next(t for t in page["tables"] if t["id"] == "unpriced")
        if expected:  # the CLI's columns, without the quantiles (a table about prices)
            assert unpriced["columns"] == [c for c in expected[0] if c not in QUANTILES]
        same_numbers(unpriced["rows"], [{c: r[c] for c in unpriced["columns"]} for r in expected])
        assert bool(unpriced["rows"]) == bool(expected)
        if not where:
            assert expected, "the sample has no call on default or $0 prices"


def test_drill_down_from_a_bar_and_a_cell_filters_exactly_as_the_cli(
    visit: Visit, sample: Path
) -> None:
    visit.open("/overview")
    bars = visit.page.locator("#chart-spenders-team .trace.bars .point path")
    top = bars.nth(bars.count() - 1)  # plotly draws the largest (first) bar on top
    top.scroll_into_view_if_needed()
    box = top.bounding_box()
    assert box is not None
    visit.page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    visit.wait_loaded(2)
    chips = visit.page.locator(".chip").all()
    assert len(chips) == 1
    where = chips[0].get_attribute("data-where") or ""
    assert where.startswith("team=")
    assert parse_qs(urlsplit(visit.page.url).query)["where"] == [where]
    theirs = cli_json(sample, "report", f"--where={where}")["totals"]
    assert visit.card("cost") == pytest.approx(theirs["cost_usd"], rel=1e-9)
    assert visit.card("requests") == theirs["requests"]
    # A model cell of a table adds a second filter.
    cell = visit.page.locator("#table-savings-by-model tbody button.drill").first
    model = cell.inner_text()
    cell.click()
    visit.wait_loaded(3)
    theirs = cli_json(sample, "report", f"--where={where}", f"--where=model={model}")["totals"]
    assert visit.card("cost") == pytest.approx(theirs["cost_usd"], rel=1e-9)
    assert visit.card("input-tokens") == theirs["input_tokens"]
    visit.assert_clean()


def test_a_one_day_window_trends_by_hour_and_a_bar_drills_to_its_hour(
    visit: Visit, sample: Path
) -> None:
    visit.open("/engineering?since=2026-11-19&until=2026-11-19")
    assert visit.page.locator('[data-chart="traffic"] h3').inner_text() == "Calls and error rate per hour"
    bars = visit.page.locator("#chart-traffic .trace.bars .point path")
    widths = [box["width"] for box in (b.bounding_box() for b in bars.all()) if box]
    assert len(widths) == 24 and min(widths) >= 2, widths
    bar = bars.nth(9)
    bar.scroll_into_view_if_needed()
    box = bar.bounding_box()
    assert box is not None
    visit.page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] - 1)
    visit.wait_loaded(2)
    assert visit.page.locator(".chip").get_attribute("data-where") == "hour=2026-11-19 09:00"
    theirs = cli_json(sample, "report", "errors", "--where=hour=2026-11-19 09:00")["totals"]
    assert visit.card("error-rate") == pytest.approx(theirs["error_rate"], rel=1e-9)
    visit.assert_clean()


def test_latency_over_time_by_provider_and_deployment_is_the_cli_report_and_drills(
    visit: Visit, server: str, sample: Path
) -> None:
    window = {"since": "2026-11-15", "until": "2026-11-18", "bucket": "day"}
    for by, metric in (("provider", "p99_latency_ms"), ("deployment", "p50_ttft_ms"),
                       ("model", "p95_latency_ms")):
        page = get_json(f"{server}/api/page/engineering?"
                        + urlencode({**window, "latency_by": by, "metric": metric}))
        chart = next(c for c in page["charts"] if c["id"] == "latency-over-time")
        assert chart["title"] == f"{panel_metric(metric)} per day by {by}"
        theirs = cli_json(sample, "report", "latency", "--by", f"{by},day",
                          "--since", window["since"], "--until", window["until"])
        expected = {(r[by], r["day"]): r[metric] for r in theirs["rows"] if r[metric] is not None}
        drawn = {}
        for line, drills in zip(chart["figure"]["data"], chart["drill"], strict=True):
            for x, y, drill in zip(line["x"], line["y"], drills, strict=True):
                point = dict(drill)
                assert point["day"] == x
                drawn[(point.get(by), x)] = y
        values = {value for value, _ in expected}
        assert len(chart["figure"]["data"]) == min(8, len(values)), (by, values)
        assert drawn and all(drawn[k] == pytest.approx(expected[k], rel=1e-9) for k in drawn)
        kept = {value for value, _ in drawn}
        assert len(drawn) == sum(1 for value, _ in expected if value in kept)
        if by == "deployment":
            assert set(DEPLOYMENTS) <= kept
    # In the browser: the pickers change the chart (and the URL); a point drills down.
    visit.open("/engineering?" + urlencode(window))
    visit.page.locator('button[data-latency-by="deployment"]').click()
    visit.wait_loaded(2)
    visit.page.locator('button[data-metric="p99_latency_ms"]').click()
    visit.wait_loaded(3)
    query = parse_qs(urlsplit(visit.page.url).query)
    assert query["latency_by"] == ["deployment"] and query["metric"] == ["p99_latency_ms"]
    assert visit.page.locator('[data-chart="latency-over-time"] h3').inner_text() == (
        "p99 latency per day by deployment")
    ARTIFACTS.mkdir(exist_ok=True)
    visit.page.locator('[data-chart="latency-over-time"]').screenshot(
        path=str(ARTIFACTS / "serve-latency-over-time.png"))
    names = visit.page.locator("#chart-latency-over-time .legendtext").all_text_contents()
    assert set(DEPLOYMENTS) <= set(names)
    line = names.index("azure-westeu-2")
    marker = visit.page.locator("#chart-latency-over-time .scatterlayer .trace").nth(line).locator(
        ".points path").nth(1)
    marker.scroll_into_view_if_needed()
    box = marker.bounding_box()
    assert box is not None
    visit.page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    visit.wait_loaded(4)
    chips = {c.get_attribute("data-where") for c in visit.page.locator(".chip").all()}
    assert chips == {"day=2026-11-16", "deployment=azure-westeu-2"}, chips
    theirs = cli_json(sample, "report", "--since", "2026-11-15", "--until", "2026-11-18",
                      "--where=day=2026-11-16", "--where=deployment=azure-westeu-2")["totals"]
    assert visit.card("p50-latency") == pytest.approx(theirs["p50_latency_ms"], rel=1e-9)
    visit.assert_clean()


def panel_metric(column: str) -> str:
    from llmstats.analytics.html.charts import LATENCY_METRICS

    return LATENCY_METRICS[column]


def test_the_url_holds_the_view_and_back_and_forward_restore_it(visit: Visit) -> None:
    path = "/engineering?since=2026-11-10&tz=Europe%2FBerlin&where=provider%3Dopenai"
    visit.open(path)
    first = visit.card("error-rate"), visit.card("p50-latency")
    assert visit.page.locator("#since").input_value() == "2026-11-10"
    assert visit.page.locator("#tz").input_value() == "Europe/Berlin"
    assert visit.page.locator(".chip").get_attribute("data-where") == "provider=openai"
    visit.page.locator('button.preset[data-since="7d"]').click()
    visit.wait_loaded(2)
    assert "since=7d" in visit.page.url
    visit.page.go_back()
    visit.wait_loaded(3)
    assert visit.page.url.endswith(path)
    assert (visit.card("error-rate"), visit.card("p50-latency")) == first
    visit.page.go_forward()
    visit.wait_loaded(4)
    assert "since=7d" in visit.page.url
    # The link alone, in a fresh tab, reproduces the view.
    other = visit.context.new_page()
    other.goto(visit.base + path)
    other.wait_for_selector('body[data-loads="1"]')
    assert float(other.locator("#card-error-rate").get_attribute("data-value") or -1) == first[0]
    visit.assert_clean()


def test_a_trace_opens_with_its_attempts_as_llmstats_trace_shows_them(
    visit: Visit, sample: Path
) -> None:
    visit.open("/requests?where=status%3Dfailure&sort=cost_usd")
    total = int(visit.page.locator("#range").inner_text().split(" of ")[1].split()[0].replace(",", ""))
    theirs = cli_json(sample, "report", "--where=status=failure")["totals"]
    assert total == theirs["calls"] and theirs["error_rate"] == 1
    visit.page.locator("#table-requests tbody tr").first.click()
    visit.wait_loaded(2)
    trace_id = visit.page.url.split("trace=")[1].split("&")[0]
    attempts = cli_json(sample, "trace", trace_id)["rows"]
    assert visit.page.locator("#table-trace-attempts tbody tr").count() == len(attempts)
    visit.page.locator("#next").click()
    visit.wait_loaded(3)
    assert "offset=50" in visit.page.url
    visit.assert_clean()


def test_new_events_appear_without_a_reload(visit: Visit, sample: Path) -> None:
    from llmstats.plugin.config import load_settings
    from llmstats.plugin.writer import EventWriter

    visit.open("/overview?where=team%3Dlive-team")
    assert visit.card("requests") == 0
    writer = EventWriter(load_settings(data_dir=str(sample), flush_seconds=3600), writer_id="live")
    for i in range(3):
        writer.submit({"event_id": f"live-{i}", "trace_id": f"live-{i}", "ts": 1_763_500_000_000_000 + i,
                       "call_type": "chat", "status": "success", "provider": "openai",
                       "model": "gpt-4o-mini", "team_alias": "live-team", "input_tokens": 10,
                       "output_tokens": 5})  # fmt: skip
    writer.close()
    visit.page.wait_for_selector('#card-requests[data-value="3"]', timeout=30_000)
    visit.assert_clean()


def test_hostile_strings_render_as_text(visit: Visit) -> None:
    visit.open("/requests?" + urlencode({"where": f"team={HOSTILE_TEAM}"}))
    assert visit.page.locator(".chip .value").inner_text() == HOSTILE_TEAM
    cells = visit.page.locator("#table-requests tbody tr").first.locator("td")
    texts = cells.all_inner_texts()
    assert HOSTILE_MODEL in texts and HOSTILE_KEY in texts and HOSTILE_TEAM in texts
    visit.open("/overview?" + urlencode({"where": f"model={HOSTILE_MODEL}"}))
    assert visit.card("requests") > 0
    # Nothing the names spell became an element: no img, no svg onload, no script.
    assert visit.page.locator("img, [onload], [onerror], main script").count() == 0
    visit.assert_clean()


def test_bad_input_is_one_line_of_json_and_sql_stays_a_value(server: str) -> None:
    for path in ("/api/report/usage?by=password", "/api/values?dim=cost_usd;DROP",
                 "/api/requests?sort=event_id)--", "/api/report/usage?since=yesterday"):
        status, _, body = get(server + path)
        assert status == 400 and list(json.loads(body)) == ["error"], (path, body)
    hostile = get_json(server + "/api/report/usage?" + urlencode(
        {"where": "team=x' OR 1=1 --"}))  # fmt: skip
    assert hostile["rows"] == [] and hostile["totals"]["calls"] == 0


def test_beyond_loopback_it_needs_a_token_and_checks_it_on_every_request(
    browser: Any, tmp_path: Path
) -> None:
    llmstats = str(Path(sys.executable).with_name("llmstats"))
    refused = subprocess.run([llmstats, "serve", "--host", "0.0.0.0", "--port", str(free_port()),
                              "--data-dir", str(tmp_path / "none")],
                             env=server_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.count("\n") == 1 and "LLMSTATS_DASHBOARD_TOKEN" in refused.stderr
    # The same token check guards a loopback server that has a token: every path.
    empty = tmp_path / "empty-data-dir"
    with serving(empty, tmp_path, "--memory-limit", "300MB", "--threads", "1",
                 "--connections", "3", LLMSTATS_DASHBOARD_TOKEN=TOKEN) as base:
        for path in ("/overview", "/api/version", "/api/page/overview", "/assets/dashboard.js",
                     "/nowhere", f"/overview?token={TOKEN[:-1]}x"):
            status, headers, _ = get(base + path)
            assert status == 401, path
            assert "default-src 'self'" in headers["content-security-policy"]
        assert get(base + "/api/version", {"Authorization": f"Bearer {TOKEN}x"})[0] == 401
        assert get(base + "/api/version", {"Authorization": f"Bearer {TOKEN}"})[0] == 200
        # The engine limits asked for are those in effect on the server's connection.
        status, _, body = get(base + "/api/page/health", {"Authorization": f"Bearer {TOKEN}"})
        assert status == 200 and json.loads(body)["engine"] == engine_as_set("300MB", 1, 3)
        status, headers, _ = get(f"{base}/segments?since=7d&token={TOKEN}")
        assert status == 303 and headers["location"] == "/segments?since=7d"
        cookie = headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and TOKEN.lower() not in cookie
        # A browser: the token once in the URL, then the cookie; an empty data dir.
        visit = Visit(browser, base)
        try:
            for name in PAGES:
                visit.open(f"/{name}?token={TOKEN}" if name == "overview" else f"/{name}")
                assert "token=" not in visit.page.url
                assert visit.page.locator(".error").count() == 0
            visit.open("/overview")
            assert visit.card("cost") == 0 and visit.card("requests") == 0
            assert visit.page.locator(".empty").count() == 1
            visit.assert_clean()
        finally:
            visit.close()
    assert not empty.exists(), "the dashboard created the data dir"


def engine_as_set(memory_limit: str, threads: int, connections: int = 2) -> dict[str, Any]:
    """What DuckDB itself reports for these settings on each of the pool's connections:
    an equal share of the memory (DuckDB shows sizes in its own units)."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET memory_limit = ?", [memory_limit])
    total = con.execute("SELECT current_setting('memory_limit')").fetchone()
    assert total is not None
    number, unit = total[0].split()
    scale = {"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}[unit]
    con.execute("SET memory_limit = ?", [f"{int(float(number) * scale) // connections}B"])
    con.execute("SET threads = ?", [threads])
    row = con.execute("SELECT current_setting('memory_limit'), current_setting('threads')").fetchone()
    assert row is not None
    return {"memory_limit": row[0], "threads": row[1], "connections": connections}


def test_the_server_holds_duckdb_to_its_memory_limit_and_threads(
    server: str, tmp_path: Path
) -> None:
    from llmstats.analytics.web.engine_limits import DEFAULT_MEMORY_LIMIT, default_threads

    for _ in range(2):  # (asking must leave the connection free for the next query)
        engine = get_json(server + "/api/page/health")["engine"]
        assert engine == engine_as_set(DEFAULT_MEMORY_LIMIT, default_threads())
    import duckdb

    untouched = duckdb.connect().execute("SELECT current_setting('memory_limit')").fetchone()
    assert untouched is not None and engine["memory_limit"] != untouched[0]  # not DuckDB's 80 %
    bad = subprocess.run([str(Path(sys.executable).with_name("llmstats")), "serve", "--port",
                          str(free_port()), "--memory-limit", "lots"], env=server_env(tmp_path),
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1, bad.stderr
    assert bad.stderr.startswith("llmstats: --memory-limit 'lots'"), bad.stderr


def test_an_s3_data_dir_is_served_drawn_and_followed(
    browser: Any, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """On object storage (the moto server): the pages draw its data in Chromium with the
    CLI's numbers, and new objects change the version, the API and the open page."""
    uri = use_fresh_bucket(s3_endpoint, monkeypatch)
    teams = ["search", "ads", "search", "<i>ops</i>"]
    write_events([event_row(team_alias=team, ts=BASE_TS + i, status="failure" if i == 3
                            else "success") for i, team in enumerate(teams)])  # fmt: skip
    with serving(uri, tmp_path, **s3_env(s3_endpoint)) as base:
        version = get_json(base + "/api/version")["version"]
        ours, theirs = get_json(base + "/api/report/usage?by=team"), cli_json(uri, "report", "--by", "team")
        same_numbers(ours["rows"], theirs["rows"])
        same_numbers(ours["totals"], theirs["totals"])
        assert len(theirs["rows"]) == 3
        totals = cli_json(uri, "report")["totals"]
        visit = Visit(browser, base)
        try:
            visit.open("/engineering")
            assert visit.page.locator(".plot[data-drawn]").count() >= 3
            assert visit.card("error-rate") == pytest.approx(totals["error_rate"], rel=1e-9)
            visit.open("/requests")
            assert visit.page.locator("#table-requests tbody tr").count() == len(teams)
            visit.open("/overview")
            assert visit.page.locator("#chart-spenders-team .trace.bars .point path").count() == 3
            assert visit.card("cost") == pytest.approx(totals["cost_usd"], rel=1e-9)
            assert visit.card("requests") == totals["requests"] == len(teams)
            ARTIFACTS.mkdir(exist_ok=True)
            visit.page.screenshot(path=str(ARTIFACTS / "serve-s3-overview.png"))
            write_events([event_row(team_alias="ads", ts=BASE_TS + 10)], writer_id="second")
            deadline = time.monotonic() + 30
            while get_json(base + "/api/version")["version"] == version:
                assert time.monotonic() < deadline, "the version did not follow the bucket"
                time.sleep(0.3)
            rows = get_json(base + "/api/report/usage?by=team")["rows"]
            assert {r["team"]: r["requests"] for r in rows} == {"search": 2, "ads": 2, "<i>ops</i>": 1}
            # The open page follows the bucket without a reload.
            visit.page.wait_for_selector('#card-requests[data-value="5"]', timeout=30_000)
            visit.assert_clean()
        finally:
            visit.close()
