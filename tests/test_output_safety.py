"""Event strings are data a client chose: every format makes them inert where it lands.
Terminals get no escape sequence (clear screen, OSC 52 clipboard writes) and no rich
markup; spreadsheets get no formula (unless --raw-csv); markdown renders no link, image or
raw HTML. And values JSON has no type for (BLOB, TIME) render instead of crashing."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from tests.support.cli_checks import assert_one_line, invoke
from tests.support.event_data import at, write_events, write_fixture_dataset

TERMINAL = {
    "clear": "\x1b[2J\x1b[Hgone",
    "clipboard": "\x1b]52;c;Y3VybCBldmlsIHwgc2g=\x07",
    "c1": "\x9b2Jc1",
    "bidi": "abc\u202edcba",
    "markup": "[/bold] [link=http://evil.example]x[/link] :smile:",
}
FORMULAS = ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]
MARKDOWN = ["![i](http://evil.example/p.png)", "<img src=x onerror=alert(1)>",
            "[click](http://evil.example)", "a|b", "&lt;b&gt;"]
HOSTILE = [*TERMINAL.values(), *FORMULAS, *MARKDOWN]
CONTROL = [chr(c) for c in [*range(0x20), *range(0x7f, 0xa0), 0x202e]]


@pytest.fixture
def data_dir(isolated_data_dir: Path) -> Path:
    write_fixture_dataset(str(isolated_data_dir))
    write_events([
        {"event_id": f"h{i}", "trace_id": f"h{i}", "ts": at(1, 100 + i), "end_ts": at(1, 101 + i),
         "call_type": "chat", "status": "success", "provider": "openai", "model": "acme-chat",
         "team_id": team, "input_tokens": 10, "output_tokens": 1}
        for i, team in enumerate(HOSTILE)], writer_id="hostile")
    return isolated_data_dir


def _no_control(text: str) -> None:
    found = sorted({f"{ord(c):#x}" for c in text if c in CONTROL and c != "\n"})
    assert not found, found


def test_table_output_shows_control_characters_and_markup_as_text(data_dir: Path) -> None:
    for args in (["report", "--by", "team"], ["export", "-f", "csv"],
                 ["sql", "SELECT DISTINCT team_id FROM events"], ["report", "requests"]):
        fmt = [] if "-f" in args else ["-f", "table"]
        result = invoke(*args, *fmt)
        assert result.exit_code == 0, result.output
        if "csv" in args:
            continue  # data, not a terminal view: the raw values stay (csv test below)
        _no_control(result.stdout)
        if args[0] != "report" or args[-1] != "requests":
            assert "\\x1b[2J\\x1b[Hgone" in result.stdout
            assert "\\x1b]52;c;Y3VybCBldmlsIHwgc2g=\\x07" in result.stdout
            assert "\\x9b2Jc1" in result.stdout and "abc\\u202edcba" in result.stdout
            assert "[/bold] [link=http://evil.example]x[/link] :smile:" in result.stdout


def test_a_hostile_column_name_file_name_or_error_reaches_no_terminal(data_dir: Path) -> None:
    result = invoke("sql", 'SELECT 1 AS "\x1b]52;c;eA==\x07", 2 AS "[/]"')
    assert result.exit_code == 0, result.output
    _no_control(result.stdout)
    assert "\\x1b]52;c;eA==\\x07" in result.stdout and "[/]" in result.stdout
    assert_one_line(invoke("sql", 'SELECT "\x1b[2J" FROM events'), 1, "\\x1b[2J")
    (data_dir / "events" / "date=2026-11-19" / "evil\x1b[2J.parquet").write_bytes(b"PAR1")
    result = invoke("status")
    assert result.exit_code == 0, result.output
    _no_control(result.stderr)
    assert "evil\\x1b[2J.parquet" in result.stderr


def _csv_teams(text: str) -> set[str]:
    rows = list(csv.DictReader(io.StringIO(text)))
    return {row.get("team") or row.get("team_id") or "" for row in rows}


def test_csv_cells_a_spreadsheet_would_run_get_a_leading_quote(data_dir: Path) -> None:
    for args in (["report", "--by", "team"], ["export"]):
        result = invoke(*args, "-f", "csv")
        assert result.exit_code == 0, result.output
        teams = _csv_teams(result.stdout)
        assert {f"'{formula}" for formula in FORMULAS} <= teams, teams
        assert not {t for t in teams if t[:1] in ("=", "+", "-", "@", "\t", "\r")}
        raw = invoke(*args, "-f", "csv", "--raw-csv")
        assert raw.exit_code == 0, raw.output
        assert set(FORMULAS) <= _csv_teams(raw.stdout)
    result = invoke("sql", "SELECT -5 AS n, '-5' AS s, 'a=b' AS t", "-f", "csv")
    assert result.stdout == "n,s,t\n-5,'-5,a=b\n"
    result = invoke("sql", 'SELECT 1 AS "=cmd"', "-f", "csv")
    assert result.stdout == "'=cmd\n1\n"
    # A line break inside a value is quoted, whichever kind: no row (or formula) of its own.
    result = invoke("sql", "SELECT 'a' || chr(13) || '=1+1' AS t, 'b' || chr(10) || 'c' AS u, "
                    "'say \"hi\", ok' AS v", "-f", "csv")
    assert result.stdout == 't,u,v\n"a\r=1+1","b\nc","say ""hi"", ok"\n'
    assert list(csv.reader(io.StringIO(result.stdout, newline=""))) == [
        ["t", "u", "v"], ["a\r=1+1", "b\nc", 'say "hi", ok']]


def test_markdown_renders_no_link_image_or_html_from_a_value(data_dir: Path) -> None:
    renderer = MarkdownIt("commonmark").enable("table")
    # The control: these values, unescaped, are a link, an image and raw HTML.
    unescaped = renderer.render("| team |\n|---|\n" + "".join(f"| {v} |\n" for v in MARKDOWN[:3]))
    assert "<img src=" in unescaped and '<a href="http://evil.example">' in unescaped
    result = invoke("report", "--by", "team", "-f", "markdown")
    assert result.exit_code == 0, result.output
    _no_control(result.stdout)
    html = renderer.render(result.stdout)
    assert "<img" not in html and "<a " not in html and "onerror=alert(1)>" not in html
    for value in ("![i](http://evil.example/p.png)", "[click](http://evil.example)",
                  "&amp;lt;b&amp;gt;", "a|b"):
        assert value in html, value  # shown as the text it is
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


BLOBS = ("SELECT 'ab'::BLOB AS b, ['x'::BLOB, NULL] AS l, TIME '12:30:00' AS t, "
         "{'k': '\\x00\\xff'::BLOB} AS s")


@pytest.mark.parametrize(("fmt", "expected"), [
    ("json", '{\n  "rows": [\n    {"b": "6162", "l": ["78", null], "t": "12:30:00", '
             '"s": {"k": "00ff"}}\n  ]\n}\n'),
    ("jsonl", '{"b": "6162", "l": ["78", null], "t": "12:30:00", "s": {"k": "00ff"}}\n'),
    ("csv", 'b,l,t,s\n6162,"[""78"", null]",12:30:00,"{""k"": ""00ff""}"\n'),
    ("markdown", '| b | l | t | s |\n|---|---|---|---|\n| 6162 | 78, None | 12:30:00 | '
                 '{"k": "00ff"} |\n'),
])
def test_blob_and_time_values_render_in_every_format(isolated_data_dir: Path, fmt: str,
                                                     expected: str) -> None:
    result = invoke("sql", BLOBS, "-f", fmt)
    assert result.exit_code == 0, result.output
    assert result.stdout == expected
    if fmt in ("json", "jsonl"):
        json.loads(result.stdout.splitlines()[0] if fmt == "jsonl" else result.stdout)


def test_blob_values_read_as_hex_in_a_table(isolated_data_dir: Path) -> None:
    result = invoke("sql", BLOBS)
    assert result.exit_code == 0, result.output
    assert "6162" in result.stdout and '{"k": "00ff"}' in result.stdout
    assert "b'" not in result.stdout


def test_json_escapes_every_control_character_and_keeps_the_value(data_dir: Path) -> None:
    for fmt in ("json", "jsonl"):
        result = invoke("export", "-f", fmt)
        assert result.exit_code == 0, result.output
        _no_control(result.stdout)
        lines = result.stdout.splitlines() if fmt == "jsonl" else [result.stdout]
        rows = [row for line in lines for row in
                (json.loads(line)["rows"] if fmt == "json" else [json.loads(line)])]
        assert set(HOSTILE) <= {row["team_id"] for row in rows}
