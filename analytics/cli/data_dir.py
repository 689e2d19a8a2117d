"""What commands share around the data dir: opening it (with warnings for skipped files
and unreadable rollups), the settings behind it, the audit log, and writing output."""

from typing import TYPE_CHECKING, Any

import typer

from .progress import spinner

if TYPE_CHECKING:
    from llmstats.plugin.config import Settings

    from ..connection import Dataset
    from ..query import Query


def open_data(data_dir: str | None, quarantine: bool = False, *,
              lazy_events: bool = False, sealed: bool = False,
              from_copy: bool = False) -> "Dataset":
    """The dataset behind a read command; a skipped file is a warning on stderr.
    `from_copy`: `events` and `event_costs` read the priced copy's days from it (for
    commands that price every event of the window: it costs the open ~0.2 s)."""
    from ..connection import open_dataset

    with spinner("Opening the dataset…"):
        dataset = open_dataset(data_dir, quarantine=quarantine, lazy_events=lazy_events,
                               sealed=sealed, from_copy=from_copy)
    warn_skipped(dataset.state.skipped, dict(dataset.state.quarantined))
    return dataset


def warn_skipped(skipped: list[tuple[str, str]], moved: dict[str, str] | None = None) -> None:
    """One warning line per event file left out (unreadable, or not an event file:
    store/dataset.py), for every command that reads or compacts the events."""
    from .render import terminal_text

    for path, reason in skipped:
        target = (moved or {}).get(path)
        where = (f"; moved to {target}" if target
                 else "; llmstats status --quarantine moves it aside")
        typer.echo(terminal_text(f"warning: skipped unreadable file {path} ({reason}){where}"),
                   err=True)


def warn_rollups(dataset: "Dataset") -> None:
    """Rollups a report could not read (it read those days' events instead)."""
    from ..rollups.index import context_of

    context = context_of(dataset.con)
    for warning in context.warnings if context else []:
        typer.echo(f"warning: {warning}", err=True)


def settings_for(data_dir: str | None, **overrides: Any) -> "Settings":
    """The resolved settings with `--data-dir` applied (a bad setting is a ConfigError:
    one line and exit 2 in app.py)."""
    from llmstats.plugin.config import load_settings

    return load_settings(data_dir=data_dir, **overrides)


def existing_data_dir(data_dir: str, doing: str) -> str:
    """`data_dir` if it exists; commands that write into the data dir (export's audit
    entry, maintenance) never create one: a missing data dir is a mistyped --data-dir or
    LLMSTATS_DATA_DIR far more often than a wish (UsageError: exit 2)."""
    from ..errors import UsageError
    from ..store.files import data_dir_exists

    if not data_dir_exists(data_dir):
        raise UsageError(f"no data dir at {data_dir}: nothing to {doing} "
                         "(check --data-dir or LLMSTATS_DATA_DIR)")
    return data_dir


def resolved_data_dir(data_dir: str | None) -> str:
    from ..store.files import resolve_data_dir

    return resolve_data_dir(data_dir)


def record(data_dir: str, action: str, parameters: dict[str, Any],
           result: dict[str, Any]) -> None:
    """Append an entry to the audit log (`audit.jsonl`)."""
    from llmstats.plugin.audit import append_entry

    append_entry(data_dir, action, parameters, result)


def emit(text: str, output: str | None) -> None:
    """Rendered output to `--output FILE`, or stdout."""
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        typer.echo(text, nl=False)


def query_from(since: str | None, until: str | None, tz: str | None, by: str | None,
               where: list[str] | None, top: int | None) -> "Query":
    from ..query import Query

    return Query.parse(since=since, until=until, tz=tz, by=by, where=where, top=top)


def empty_note(dataset: "Dataset", query: "Query") -> str:
    """What an empty report says: no events at all, or none in the window."""
    if not dataset.state.files:
        return (
            f"No events yet under {dataset.data_dir}. Add the llmstats callback to "
            "LiteLLM (see README) or point LLMSTATS_DATA_DIR at an existing data dir."
        )
    return f"No events in {query.describe_window()} matching the filters."
