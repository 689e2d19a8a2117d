"""A request's query string → the report library's `Query`: the same parsing as the CLI's
`--since/--until/--tz/--where` (query.Query.parse), so the same words mean the same window
and filters, and the same allow-list of dimensions holds."""

from __future__ import annotations

from starlette.requests import Request

from ..errors import UsageError
from ..query import Query

MAX_FILTERS = 32
MAX_VALUE_CHARS = 1000


def query_of(request: Request, *, by: str | None = None, top: int | None = None) -> Query:
    params = request.query_params
    where = params.getlist("where")
    if len(where) > MAX_FILTERS or any(len(w) > MAX_VALUE_CHARS for w in where):
        raise UsageError(f"at most {MAX_FILTERS} filters of {MAX_VALUE_CHARS} characters")
    return Query.parse(
        since=params.get("since") or None,
        until=params.get("until") or None,
        tz=params.get("tz") or None,
        by=by if by is not None else params.get("by") or None,
        where=where,
        top=top if top is not None else whole_number(request, "top"),
    )


def whole_number(request: Request, name: str, default: int | None = None) -> int | None:
    text = request.query_params.get(name)
    if text is None or text == "":
        return default
    try:
        return int(text)
    except ValueError:
        raise UsageError(f"{name} takes a whole number, not {text[:40]!r}") from None
