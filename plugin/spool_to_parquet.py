"""Spool file → Parquet, streamed: a few MB of the spool file at a time, never all of it.

A proxy spools a minute of traffic per spool file (60,000 rows and ~60 MB of JSON at 1,000
calls a second). Holding that at once as bytes, as an Arrow table, its conformed copy and
the Parquet encoding costs hundreds of MB for a moment every minute; streaming keeps the
working set to one chunk (READ_CHUNK_BYTES of JSON) plus one row group per date being
gathered, plus the compressed output, which is small.

Converting the same inputs twice yields the same rows under the same names, which is what
makes crash recovery exactly-once: a crash after a file is in place but before its
spool file is deleted just rewrites identical files. Chunks are read in order and each row
group is sorted by start time on its own, so the same spool file always gives the same file.

Per spool file, in one pass:
- rows without an id or a start time are dropped; an id seen before in the spool file too;
  a line that does not parse costs only itself;
- the spool file's prompt counts (`NNNNNNNN.counts`, written by the segmenter in line order)
  are joined to its events by the offset of each event's line;
- response markers (response_marker.py) are dropped once a successful event of their call
  has been seen; the rest wait until the end, where they are either carried to the next
  spool file (still within their patience) or become the row.

Nothing goes without being counted: every line read and every marker carried in ends as a
row, a dropped line (counted by its reason, DROP_REASONS) or a marker carried out, so that
`lines + carried_in == rows + sum(dropped) + carried_out` holds for every conversion
(`Converted.balanced`). The writer's heartbeat builds on it (writer.py).
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson
import pyarrow.parquet as pq

from .accounts import DUPLICATE, MARKER_SETTLED, NO_ID_OR_START, UNREADABLE
from .raw_columns import normalise
from .response_marker import CAPTURE_MARKER
from .schema import (
    DERIVED_COLUMNS,
    EVENT_SCHEMA,
    SEGMENT_TYPE,
    SPOOL_READ_SCHEMA,
    SPOOL_SCHEMA,
    TIMESTAMP_COLUMNS,
    WRITER_COLUMNS,
)
from .sink import PARQUET_OPTIONS, Sink
from .spool import READ_CHUNK_BYTES, spool_chunks, valid_lines

ROW_GROUP_ROWS = 16_384  # rows gathered per date before a row group is written

# A duplicate callback or a late response marker arrives soon after its event, but maybe
# after a spool file was cut: the event ids of a folder's last RECENT_IDS rows, and the call
# ids of its last RECENT_IDS successful ones, ride along in the carry file (lines whose
# `capture` is SEEN, SEEN_PER_LINE ids each) and go on recognising them in the next one.
RECENT_IDS = 16_384
SEEN = "seen"
SEEN_PER_LINE = 1024  # a line must fit one of the JSON reader's blocks (1 MiB)

# Why a line read did not become a row of its own (see accounts.py for all reasons).
DROP_REASONS = (NO_ID_OR_START, UNREADABLE, DUPLICATE, MARKER_SETTLED)

COUNTS_SCHEMA = pa.schema(
    [
        ("at", pa.int64()),
        ("event_id", pa.string()),
        ("segments", pa.list_(SEGMENT_TYPE)),
        ("segments_estimated", pa.bool_()),
        ("tool_call_count", pa.int32()),
        ("input_tokens", pa.int64()),  # a speech call's, counted off the loop
    ]
)

# Blocks smaller than a chunk let Arrow parse one chunk on several cores.
_READ = pajson.ReadOptions(block_size=1 << 20)
DAY_US = 86_400_000_000


def _read(data: bytes, schema: pa.Schema) -> pa.Table:
    options = pajson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    return pajson.read_json(pa.BufferReader(data), read_options=_READ, parse_options=options)


def _parse_each_good_line(lines: list[bytes], schema: pa.Schema) -> list[pa.Table]:
    """Bisect down to the lines that do not parse and leave only those out."""
    try:
        return [_read(b"\n".join(lines) + b"\n", schema)]
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        if len(lines) == 1:
            return []
    middle = len(lines) // 2
    return _parse_each_good_line(lines[:middle], schema) + _parse_each_good_line(
        lines[middle:], schema
    )


def spool_rows(data: bytes) -> pa.Table:
    """Spool lines → SPOOL_SCHEMA rows, the fast rows' raw values normalised."""
    return normalise(parse_lines(data, SPOOL_READ_SCHEMA))


def line_count(data: bytes) -> int:
    """Complete lines in a chunk (spool_chunks hands out whole lines only)."""
    return data.count(b"\n")


def parse_lines(data: bytes, schema: pa.Schema) -> pa.Table:
    try:
        return _read(data, schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        # A failed or torn write can leave a fragment mid-file, and a row can hold a
        # value the schema refuses: keep every row that parses, lose only the bad ones.
        cleaned = valid_lines(bytes(data))
        tables = _parse_each_good_line(cleaned.splitlines(), schema) if cleaned else []
        if not tables:
            return schema.empty_table()
        return pa.concat_tables(tables)


def _derived(table: pa.Table, name: str) -> pa.ChunkedArray | None:
    """Durations in ms from the µs timestamps (the hot path writes only the timestamps)."""
    start = table.column("ts")
    end_name = {"latency_ms": "end_ts", "ttft_ms": "first_token_ts"}[name]
    if end_name not in table.column_names:
        return None
    micros = pc.subtract(table.column(end_name), start)
    # Unsafe: a malformed payload's duration past 2**53 µs (285 years) must lose precision,
    # not fail the whole spool file's conversion.
    return pc.divide(micros.cast(pa.float64(), safe=False), 1000.0)


def _conform(table: pa.Table, constants: Mapping[str, object]) -> pa.Table:
    """Every schema column, in schema order, with the schema's types."""
    columns = []
    for field in EVENT_SCHEMA:
        column: pa.ChunkedArray | pa.Array | None = None
        if field.name in WRITER_COLUMNS:
            value = constants.get(field.name)
            column = pa.repeat(pa.scalar(value, field.type), table.num_rows)
        elif field.name in DERIVED_COLUMNS:
            column = _derived(table, field.name)
            if column is None:
                column = pa.nulls(table.num_rows, field.type)
        elif field.name == "capture":
            # Rows from the callback do not spend a key on saying so.
            present = table.column("capture") if "capture" in table.column_names else None
            column = (
                pc.fill_null(present, "callback")
                if present is not None
                else pa.repeat(pa.scalar("callback"), table.num_rows)
            )
        elif field.name in table.column_names:
            column = table.column(field.name)
            if field.name in TIMESTAMP_COLUMNS:
                column = column.cast(pa.timestamp("us")).cast(field.type)
            elif column.type != field.type:
                column = column.cast(field.type)
        else:
            column = pa.nulls(table.num_rows, field.type)
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=EVENT_SCHEMA)


def sorted_by_ts(table: pa.Table) -> pa.Table:
    """Rows by start time (what min/max statistics and compaction like); arrival order
    is nearly sorted already, so check before paying for a sort. The sort is stable."""
    ts = table.column("ts")
    if table.num_rows < 2 or pc.all(pc.greater_equal(ts[1:], ts[:-1])).as_py():
        return table
    return table.take(pc.sort_indices(table, sort_keys=[("ts", "ascending")]))


def first_occurrences(values: list[object]) -> pa.Array:
    """The index of each distinct value's first occurrence, in order: the earlier row wins."""
    seen: dict[object, int] = {}
    for index, value in enumerate(values):
        seen.setdefault(value, index)
    return pa.array(list(seen.values()), type=pa.int64())


def _keep(table: pa.Table, mask: pa.Array | pa.ChunkedArray) -> pa.Table:
    """`table.filter(mask)` without copying sixty columns when the mask keeps every row."""
    kept = pc.sum(mask).as_py() or 0
    if kept == table.num_rows:
        return table
    return table.filter(mask) if kept else table.slice(0, 0)


def _unique_first(table: pa.Table, key: str) -> pa.Table:
    column = table.column(key)
    if table.num_rows < 2 or pc.count_distinct(column).as_py() == table.num_rows:
        return table
    return table.take(first_occurrences(column.to_pylist()))


def _without(table: pa.Table, key: str, known: set[str]) -> pa.Table:
    """Rows whose `key` is not in `known` (a null key is never known)."""
    if not known or table.num_rows == 0:
        return table
    mask = [value not in known for value in table.column(key).to_pylist()]
    return _keep(table, pa.array(mask, type=pa.bool_()))


Emit = Callable[[str, pa.Table], None]
"""Receives conformed rows of one UTC date (YYYY-MM-DD)."""


class SpoolFileStream:
    """The state of one spool file's conversion, fed chunk by chunk (see the module doc)."""

    def __init__(self, constants: Mapping[str, object], emit: Emit) -> None:
        self._constants = constants
        self._emit = emit
        # Python sets: one look-up per row, where an Arrow `is_in` would build its hash
        # table of everything seen so far again for every chunk.
        self._seen: set[str] = set()  # event ids emitted (or carried in) so far
        self._succeeded: set[str] = set()  # call ids of successful events so far
        self._waiting: list[pa.Table] = []  # markers nothing has settled yet
        self._recent_events: deque[str] = deque(maxlen=RECENT_IDS)
        self._recent_calls: deque[str] = deque(maxlen=RECENT_IDS)
        self.rows = 0
        self.marker_rows = 0
        self.dropped: dict[str, int] = dict.fromkeys(DROP_REASONS, 0)
        self.carried_in = 0  # markers read from a carry file

    @property
    def duplicates(self) -> int:
        return self.dropped[DUPLICATE]

    def drop(self, reason: str, rows: int) -> None:
        self.dropped[reason] += rows

    def feed(self, raw: pa.Table, counts: pa.Table | None = None, lines: int | None = None) -> None:
        """One chunk of raw rows (SPOOL_SCHEMA); `counts`, the counts rows of its events;
        `lines`, how many lines the chunk had (those that did not parse are counted)."""
        if lines is not None:
            self.drop(UNREADABLE, lines - raw.num_rows)
        if raw.num_rows == 0:
            return
        capture = raw.column("capture")
        kind = pc.fill_null(capture, "callback")
        raw = _keep(raw, pc.not_equal(kind, SEEN))  # read by `remember`, not rows
        valid = _keep(raw, pc.and_(pc.is_valid(raw.column("event_id")), pc.is_valid(raw.column("ts"))))
        self.drop(NO_ID_OR_START, raw.num_rows - valid.num_rows)
        raw = valid
        is_marker = pc.fill_null(pc.equal(raw.column("capture"), CAPTURE_MARKER), False)
        events, markers = _keep(raw, pc.invert(is_marker)), _keep(raw, is_marker)
        if events.num_rows:
            self._settle(events)
            if counts is not None and counts.num_rows:
                events = _with_counts(events, counts)
            self._add(events)
        if markers.num_rows:
            waiting = _without(markers, "call_id", self._succeeded)
            self.drop(MARKER_SETTLED, markers.num_rows - waiting.num_rows)
            self._waiting.append(waiting)

    def remember(self, carried: pa.Table) -> None:
        """The SEEN lines of a carry file (read with SPOOL_READ_SCHEMA): ids of rows
        converted before, to recognise once more."""
        is_seen = pc.fill_null(pc.equal(carried.column("capture"), SEEN), False)
        lines = _keep(carried, is_seen)
        self.carried_in += carried.num_rows - lines.num_rows  # the markers: fed after this
        if lines.num_rows == 0:
            return
        events = pc.list_flatten(lines.column("seen_events")).to_pylist()
        calls = pc.list_flatten(lines.column("seen_calls")).to_pylist()
        self._seen.update(events)
        self._recent_events.extend(events)
        self._succeeded.update(calls)
        self._recent_calls.extend(calls)

    def _settle(self, rows: pa.Table) -> None:
        """The successful calls among `rows` settle their markers, waiting or to come."""
        success = pc.fill_null(pc.equal(rows.column("status"), "success"), False)
        calls = pc.drop_null(_keep(rows, success).column("call_id"))
        if len(calls):
            ids = calls.to_pylist()
            self._succeeded.update(ids)
            self._recent_calls.extend(ids)
            found = set(ids)
            waiting = [_without(w, "call_id", found) for w in self._waiting]
            settled = sum(w.num_rows for w in self._waiting) - sum(w.num_rows for w in waiting)
            self.drop(MARKER_SETTLED, settled)
            self._waiting = waiting

    def _add(self, rows: pa.Table) -> None:
        ids = rows.column("event_id").to_pylist()
        seen = self._seen
        fresh = set(ids)
        if len(fresh) == len(ids) and seen.isdisjoint(fresh):
            seen |= fresh  # the usual case, in C: no duplicate at all
        else:
            kept = []
            for index, event_id in enumerate(ids):  # the first row of an id wins
                if event_id not in seen:
                    seen.add(event_id)
                    kept.append(index)
            self.drop(DUPLICATE, len(ids) - len(kept))
            if not kept:
                return
            rows = rows.take(pa.array(kept, type=pa.int64()))
            ids = [ids[i] for i in kept]
        self._recent_events.extend(ids)
        table = _conform(rows, self._constants)
        # UTC days as integers (formatting every row's date would cost more than the rest).
        days = pc.divide(rows.column("ts"), DAY_US)
        distinct = pc.unique(days).to_pylist()
        for day in distinct:
            date = (dt.date(1970, 1, 1) + dt.timedelta(days=day)).isoformat()
            self._emit(date, table if len(distinct) == 1 else table.filter(pc.equal(days, day)))
        self.rows += table.num_rows

    def finish(self, carry_after_us: int | None) -> pa.Table:
        """End of input. Unsettled markers that ended after `carry_after_us` are returned
        (to carry forward); the rest become rows. None: every one becomes its row."""
        waiting = self._waiting
        self._waiting = []
        markers = pa.concat_tables(waiting) if waiting else SPOOL_SCHEMA.empty_table()
        unique = _unique_first(markers, "call_id")
        self.drop(DUPLICATE, markers.num_rows - unique.num_rows)
        markers = unique
        carried = SPOOL_SCHEMA.empty_table()
        if carry_after_us is not None and markers.num_rows:
            later = pc.fill_null(pc.greater(markers.column("end_ts"), carry_after_us), True)
            carried, markers = markers.filter(later), markers.filter(pc.invert(later))
        before = self.rows
        self._add(markers)
        self.marker_rows += self.rows - before
        return carried

    def recent_ids(self) -> list[dict[str, object]]:
        """The recent ids as SEEN lines for the carry file (see RECENT_IDS)."""
        events, calls = list(self._recent_events), list(self._recent_calls)
        return [
            {
                "event_id": SEEN,
                "ts": 0,
                "capture": SEEN,
                "seen_events": events[start : start + SEEN_PER_LINE],
                "seen_calls": calls[start : start + SEEN_PER_LINE],
            }
            for start in range(0, max(len(events), len(calls)), SEEN_PER_LINE)
        ]


def _with_counts(events: pa.Table, counts: pa.Table) -> pa.Table:
    """Fill `segments` and `segments_estimated` from the counts rows (by event id), and
    `tool_call_count` and `input_tokens` where the row left them to the segmenter thread."""
    where = pc.index_in(events.column("event_id"), value_set=counts.column("event_id"))
    for name in ("segments", "segments_estimated", "tool_call_count", "input_tokens"):
        found = counts.column(name).take(where)
        if name in ("tool_call_count", "input_tokens"):
            found = pc.coalesce(events.column(name), found)
        events = events.set_column(events.schema.get_field_index(name), name, found)
    return events


class _Counts:
    """The counts file of a spool file, read alongside it: rows come in line order."""

    def __init__(self, path: Path | None) -> None:
        self._chunks = iter(spool_chunks(path)) if path is not None else iter(())
        self._buffer = COUNTS_SCHEMA.empty_table()
        self._done = path is None

    def before(self, end: int) -> pa.Table:
        """Counts of events whose line starts before offset `end` (not yet handed out)."""
        while not self._done and (
            self._buffer.num_rows == 0 or self._buffer.column("at")[-1].as_py() < end
        ):
            chunk = next(self._chunks, None)
            if chunk is None:
                self._done = True
                break
            parsed = parse_lines(chunk[1], COUNTS_SCHEMA).filter(
                pc.is_valid(pc.field("at"))
            )
            self._buffer = pa.concat_tables([self._buffer, parsed])
        early = pc.fill_null(pc.less(self._buffer.column("at"), end), False)
        taken, self._buffer = self._buffer.filter(early), self._buffer.filter(pc.invert(early))
        return taken


class _DateFiles:
    """One Parquet file per date, written row group by row group into memory (compressed,
    so small: ~90 bytes a row) and handed to the sink whole once the spool file is done."""

    def __init__(self, row_group_rows: int) -> None:
        self._row_group_rows = row_group_rows
        self._gathered: dict[str, list[pa.Table]] = {}
        self._outputs: dict[str, tuple[pa.BufferOutputStream, pq.ParquetWriter]] = {}
        self.rows: dict[str, int] = {}

    def add(self, date: str, table: pa.Table) -> None:
        gathered = self._gathered.setdefault(date, [])
        gathered.append(table)
        self.rows[date] = self.rows.get(date, 0) + table.num_rows
        if sum(t.num_rows for t in gathered) >= self._row_group_rows:
            self._write_group(date)

    def _write_group(self, date: str) -> None:
        gathered = self._gathered.pop(date, [])
        if not gathered:
            return
        group = sorted_by_ts(pa.concat_tables(gathered))
        if date not in self._outputs:
            stream = pa.BufferOutputStream()
            self._outputs[date] = (stream, pq.ParquetWriter(stream, EVENT_SCHEMA, **PARQUET_OPTIONS))
        self._outputs[date][1].write_table(group, row_group_size=group.num_rows)

    def finish(self, sink: Sink, name: str) -> int:
        """Write every date's file through the sink; returns the files written."""
        for date in list(self._gathered):
            self._write_group(date)
        for date, (stream, writer) in self._outputs.items():
            writer.close()
            sink.write_bytes(f"events/date={date}/{name}", stream.getvalue().to_pybytes())
        return len(self._outputs)


@dataclass
class Converted:
    rows: dict[str, int]  # per date
    files: int
    marker_rows: int
    carried: pa.Table  # markers to carry forward (SPOOL_SCHEMA rows)
    recent_ids: list[dict[str, object]]  # SEEN rows to carry forward
    dropped: dict[str, int]  # lines that did not become rows, by reason (DROP_REASONS)
    lines: int  # lines read from the spool file
    carried_in: int  # markers read from the carry file

    @property
    def duplicates(self) -> int:
        """Rows dropped because their event id (or a marker's call) was seen already."""
        return self.dropped[DUPLICATE]

    @property
    def balanced(self) -> bool:
        """Every line read and marker carried in is a row, a counted drop or carried on."""
        return self.lines + self.carried_in == (
            sum(self.rows.values()) + sum(self.dropped.values()) + self.carried.num_rows
        )


def convert_spool_file(
    spool_file: Path | None,
    *,
    constants: Mapping[str, object],
    sink: Sink,
    name: str,
    carry_in: Path | None = None,
    counts: Path | None = None,
    carry_after_us: int | None = None,
    row_group_rows: int = ROW_GROUP_ROWS,
    chunk_bytes: int = READ_CHUNK_BYTES,
) -> Converted:
    """Stream `carry_in` (markers carried from earlier spool files), then `spool_file` with its
    `counts`, into `events/date=…/<name>` files. See SegmentStream.finish for markers."""
    files = _DateFiles(row_group_rows)
    stream = SpoolFileStream(constants, files.add)
    if carry_in is not None:
        for _, data in spool_chunks(carry_in, chunk_bytes):
            carried = parse_lines(data, SPOOL_READ_SCHEMA)
            stream.remember(carried)
            stream.feed(normalise(carried))
    lines = 0
    if spool_file is not None:
        counts_rows = _Counts(counts)
        for offset, data in spool_chunks(spool_file, chunk_bytes):
            chunk_lines = line_count(data)
            lines += chunk_lines
            stream.feed(spool_rows(data), counts_rows.before(offset + len(data)), chunk_lines)
    carried = stream.finish(carry_after_us)
    written = files.finish(sink, name)
    return Converted(
        files.rows, written, stream.marker_rows, carried, stream.recent_ids(),
        dict(stream.dropped), lines, stream.carried_in,
    )  # fmt: skip


def spool_file_tables(data: bytes, constants: Mapping[str, object]) -> dict[str, pa.Table]:
    """Spool lines → conformed tables by date, every marker a row (tests and tools)."""
    parts: dict[str, list[pa.Table]] = {}
    stream = SpoolFileStream(constants, lambda date, table: parts.setdefault(date, []).append(table))
    stream.feed(spool_rows(data))
    stream.finish(None)
    return {date: sorted_by_ts(pa.concat_tables(tables)) for date, tables in parts.items()}

