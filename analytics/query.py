"""Report parameters → SQL fragments: time window, `--by` dimensions, `--where` filters.

Values only ever reach SQL as bound parameters. Identifiers (a `--by` dimension or a
`--where` key) come only from the `DIMENSIONS` allow-list below.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import UsageError

# name → SQL expression over the events / event_costs columns. `$tz` is bound per query.
DIMENSIONS: dict[str, str] = {
    "model": "model",
    "provider": "provider",
    "model_group": "model_group",
    "deployment": "deployment_id",
    "api_base": "api_base_host",
    "team": "COALESCE(team_alias, team_id)",
    "team_id": "team_id",
    "org": "org_id",
    "key": "COALESCE(key_alias, key_hash)",
    "key_hash": "key_hash",
    "user": "user_id",
    "end_user": "end_user_hash",
    "session": "session_id",
    "tag": "tag",
    "call_type": "call_type",
    "status": "status",
    "route": "route",
    "stream": "CAST(stream AS VARCHAR)",
    "error": "error_class",
    "service_tier": "service_tier",
    "priced_by": "priced_by",
    "hour": "strftime(date_trunc('hour', timezone($tz, ts)), '%Y-%m-%d %H:00')",
    # Periods are DATEs (a week by its Monday, a month by its first day).
    "day": "CAST(timezone($tz, ts) AS DATE)",
    "week": "CAST(date_trunc('week', timezone($tz, ts)) AS DATE)",
    "month": "CAST(date_trunc('month', timezone($tz, ts)) AS DATE)",
}
# The event columns each dimension reads (rollup cubes serve a query only when they keep
# all of them; `ts` stands for time, which every cube keeps at its grain). priced_by is
# computed from provider, model and time by the pricing views.
DIMENSION_COLUMNS: dict[str, tuple[str, ...]] = {
    "model": ("model",),
    "provider": ("provider",),
    "model_group": ("model_group",),
    "deployment": ("deployment_id",),
    "api_base": ("api_base_host",),
    "team": ("team_alias", "team_id"),
    "team_id": ("team_id",),
    "org": ("org_id",),
    "key": ("key_alias", "key_hash"),
    "key_hash": ("key_hash",),
    "user": ("user_id",),
    "end_user": ("end_user_hash",),
    "session": ("session_id",),
    "tag": ("tags",),
    "call_type": ("call_type",),
    "status": ("status",),
    "route": ("route",),
    "stream": ("stream",),
    "error": ("error_class",),
    "service_tier": ("service_tier",),
    "priced_by": ("provider", "model"),
    "hour": ("ts",),
    "day": ("ts",),
    "week": ("ts",),
    "month": ("ts",),
}
# In UTC the hive partition key already is the day: no per-event time-zone conversion.
UTC_DIMENSIONS = {
    "day": "date",
    "week": "CAST(date_trunc('week', date) AS DATE)",
    "month": "CAST(date_trunc('month', date) AS DATE)",
}
ALIASES = {
    "call-type": "call_type",
    "calltype": "call_type",
    "type": "call_type",
    "team-id": "team_id",
    "model-group": "model_group",
    "tags": "tag",
    "end-user": "end_user",
    "priced-by": "priced_by",
    "api-base": "api_base",
    "service-tier": "service_tier",
    "error_class": "error",
    "daily": "day",
    "weekly": "week",
    "monthly": "month",
}
TIME_DIMENSIONS = ("hour", "day", "week", "month")
COST_ONLY = ("priced_by",)

_RELATIVE = re.compile(r"^(\d+)\s*([hdwm])$")
_UNITS = {
    "h": dt.timedelta(hours=1),
    "d": dt.timedelta(days=1),
    "w": dt.timedelta(weeks=1),
    "m": dt.timedelta(days=30),
}


def dimension(name: str) -> str:
    """The canonical dimension name; UsageError for anything not on the allow-list."""
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    if key not in DIMENSIONS:
        raise UsageError(f"unknown dimension {name!r}; choose from {', '.join(sorted(DIMENSIONS))}")
    return key


def parse_dimensions(text: str | None) -> tuple[str, ...]:
    if not text:
        return ()
    names = tuple(dimension(part) for part in text.split(",") if part.strip())
    if len(set(names)) != len(names):
        raise UsageError(f"dimension listed twice in --by {text!r}")
    return names


def parse_filters(items: list[str] | None) -> tuple[tuple[str, str], ...]:
    filters = []
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"bad filter {item!r}: use KEY=VALUE, e.g. --where team=search")
        name = dimension(key)
        filters.append((name, filter_value(name, value.strip())))
    return tuple(filters)


PERIODS = ("day", "week", "month")
"""Dimensions whose values are DATEs (bound as dates, not text)."""
_BOOLEAN = {"true": "true", "yes": "true", "1": "true", "false": "false", "no": "false", "0": "false"}
_HOUR = re.compile(r"^(\d{4}-\d{2}-\d{2})[ t](\d{2})(?::00)?$")


def filter_value(name: str, value: str) -> str:
    """A `--where` value in the form its dimension compares with, or a UsageError naming
    what the dimension takes. Only dimensions with a fixed form are checked (periods,
    hour, stream, status); any text is a valid model, team, tag, … (it may match nothing)."""
    def bad(takes: str) -> UsageError:
        return UsageError(f"bad --where {name}={value!r}: {name} takes {takes}")

    if name in PERIODS:
        text = f"{value}-01" if name == "month" and len(value) == 7 else value
        try:
            day = dt.date.fromisoformat(text) if len(text) == 10 else None
        except ValueError:
            day = None
        if day is None:
            raise bad("a date, e.g. 2026-11-16" + (" or 2026-11" if name == "month" else ""))
        if name == "week" and day.weekday() != 0:
            monday = day - dt.timedelta(days=day.weekday())
            raise bad(f"the Monday that names the week (here {monday.isoformat()})")
        if name == "month" and day.day != 1:
            raise bad(f"the first day that names the month (here {day.replace(day=1).isoformat()})")
        return day.isoformat()
    if name == "hour":
        match = _HOUR.match(value.lower())
        try:
            if match is None or not 0 <= int(match.group(2)) <= 23:
                raise ValueError
            dt.date.fromisoformat(match.group(1))
        except ValueError:
            raise bad("an hour like '2026-11-16 09:00'") from None
        return f"{match.group(1)} {match.group(2)}:00"
    if name == "stream":
        if value.lower() not in _BOOLEAN:
            raise bad("true or false")
        return _BOOLEAN[value.lower()]
    if name == "status" and value.lower() not in ("success", "failure"):
        raise bad("success or failure")
    return value.lower() if name == "status" else value


def parse_tz(name: str | None) -> str:
    if not name:
        return "UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(
            f"unknown time zone {name!r} (use an IANA name like Europe/Berlin)"
        ) from None
    return name


def parse_instant(text: str, tz: str, *, now: dt.datetime, end_of_day: bool = False) -> dt.datetime:
    """`7d`, `24h`, `2w`, `3m` (months of 30 days) before now; a date (midnight in `tz`, or
    the following midnight with `end_of_day`); or an ISO date-time (in `tz` unless it
    carries an offset). Returns a UTC datetime. Instants must fall within years 1–9999
    (Python's datetimes): anything beyond is a UsageError, not an overflow."""
    try:
        return _instant(text, tz, now=now, end_of_day=end_of_day)
    except OverflowError:
        raise UsageError(
            f"date {text!r} is out of range: windows must stay within the years 1 to 9999"
        ) from None


def _instant(text: str, tz: str, *, now: dt.datetime, end_of_day: bool) -> dt.datetime:
    value = text.strip().lower()
    match = _RELATIVE.match(value)
    if match:
        return now - int(match.group(1)) * _UNITS[match.group(2)]
    zone = ZoneInfo(tz)
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            if end_of_day:
                day += dt.timedelta(days=1)
            return dt.datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(dt.UTC)
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"bad date {text!r}: use 7d / 24h / 2w, a date (2026-11-01) or an ISO date-time"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(dt.UTC)


@dataclass(frozen=True)
class Query:
    """A parsed report request. Build with `Query.parse` from CLI strings."""

    since: dt.datetime | None = None
    until: dt.datetime | None = None
    tz: str = "UTC"
    by: tuple[str, ...] = ()
    where: tuple[tuple[str, str], ...] = ()
    top: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(
        cls,
        *,
        since: str | None = None,
        until: str | None = None,
        tz: str | None = None,
        by: str | None = None,
        where: list[str] | None = None,
        top: int | None = None,
        now: dt.datetime | None = None,
    ) -> Query:
        zone = parse_tz(tz)
        now = now or dt.datetime.now(dt.UTC)
        start = parse_instant(since, zone, now=now) if since else None
        end = parse_instant(until, zone, now=now, end_of_day=True) if until else None
        if start and end and start >= end:
            raise UsageError("--since must be before --until")
        if top is not None and top < 1:
            raise UsageError("--top must be at least 1")
        return cls(start, end, zone, parse_dimensions(by), parse_filters(where), top)

    def needs_tags(self) -> bool:
        return "tag" in self.by

    def dimensions(self) -> set[str]:
        """Every dimension the query groups or filters by."""
        return set(self.by) | {key for key, _ in self.where}

    def with_by(self, by: tuple[str, ...]) -> Query:
        """The same window and filters, grouped by `by` (and no --top)."""
        return Query(self.since, self.until, self.tz, by, self.where, None)

    def conditions(
        self, *, cost_columns: bool = True, dates: tuple[str, ...] | None = None
    ) -> tuple[str, dict[str, Any]]:
        """A WHERE clause (without the keyword; `TRUE` if empty) and its parameters.
        `dates`: only these partitions (UTC dates), besides the window."""
        params: dict[str, Any] = {"tz": self.tz}
        parts: list[str] = []
        if dates is not None:
            names = []
            for index, day in enumerate(dates):
                params[f"p{index}"] = dt.date.fromisoformat(day)
                names.append(f"$p{index}")
            parts.append(f"date IN ({', '.join(names)})" if names else "FALSE")
        if self.since is not None:
            # The `date` predicate prunes partitions (files); the `ts` one is exact.
            parts.append("date >= $since_date AND ts >= $since")
            params["since"] = self.since
            params["since_date"] = self.since.date()
        if self.until is not None:
            parts.append("date <= $until_date AND ts < $until")
            params["until"] = self.until
            params["until_date"] = self.until.date()
        grouped: dict[str, list[str]] = {}
        for key, value in self.where:
            grouped.setdefault(key, []).append(value)
        for index, (key, values) in enumerate(grouped.items()):
            if key in COST_ONLY and not cost_columns:
                raise UsageError(f"--where {key}=… only applies to cost reports")
            names = []
            for j, value in enumerate(values):
                name = f"w{index}_{j}"
                # A period compares as a DATE (filter_value checked the text).
                params[name] = dt.date.fromisoformat(value) if key in PERIODS else value
                names.append(f"${name}")
            if key == "tag":
                parts.append("(" + " OR ".join(f"list_contains(tags, {n})" for n in names) + ")")
            else:
                # Repeating a key means any of the values (an IN list).
                parts.append(f"{self.expr(key)} IN ({', '.join(names)})")
        return (" AND ".join(parts) or "TRUE"), params

    def expr(self, name: str) -> str:
        """The SQL for dimension `name` (allow-listed) under this query's time zone."""
        if self.tz == "UTC" and name in UTC_DIMENSIONS:
            return UTC_DIMENSIONS[name]
        return DIMENSIONS[name]

    def group_exprs(self, *, cost_columns: bool = True) -> list[tuple[str, str]]:
        out = []
        for name in self.by:
            if name in COST_ONLY and not cost_columns:
                raise UsageError(f"--by {name} only applies to cost reports")
            out.append((name, self.expr(name)))
        return out

    def source(
        self, table: str, *, cost_columns: bool = True, dates: tuple[str, ...] | None = None
    ) -> tuple[str, dict[str, Any]]:
        """`FROM`-able SQL: the table filtered (to `dates` too, if given), with one row
        per tag when grouping by tag."""
        where, params = self.conditions(cost_columns=cost_columns, dates=dates)
        if self.needs_tags():
            sql = (
                f"(SELECT *, UNNEST(CASE WHEN len(tags) > 0 THEN tags "
                f"ELSE [NULL::VARCHAR] END) AS tag FROM {table} WHERE {where})"
            )
        else:
            sql = f"(SELECT * FROM {table} WHERE {where})"
        return sql, params

    def describe_window(self) -> str:
        def fmt(moment: dt.datetime | None) -> str:
            if moment is None:
                return "…"
            return moment.astimezone(ZoneInfo(self.tz)).strftime("%Y-%m-%d %H:%M")

        if self.since is None and self.until is None:
            return "all time"
        return f"{fmt(self.since)} → {fmt(self.until)} {self.tz}"
