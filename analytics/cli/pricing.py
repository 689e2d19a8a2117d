"""`llmstats pricing update | show | set | unset`: the catalog snapshot and the user's
overrides."""

import datetime as dt
from typing import Annotated

import typer

from .data_dir import emit, record, resolved_data_dir
from .options import DataDirOption, FormatOption, OutputOption, RawCsvOption
from .render import Format, render


def pricing_update(*, data_dir: DataDirOption = None) -> None:
    """Snapshot the installed LiteLLM's price map into <data dir>/pricing/catalog.parquet.

    Example: llmstats pricing update
    """
    from ..pricing.catalog import snapshot_catalog

    resolved = resolved_data_dir(data_dir)
    catalog = snapshot_catalog(resolved)
    record(resolved, "pricing update", {},
           {"models": catalog.table.num_rows, "litellm_version": catalog.litellm_version})
    typer.echo(f"pricing catalog: {catalog.table.num_rows} models from litellm "
               f"{catalog.litellm_version}")


def pricing_show(
    model: Annotated[
        str,
        typer.Argument(help="A model name or LiteLLM key (provider/model); substrings match too."),
    ],
    *,
    fmt: FormatOption = Format.table,
    output: OutputOption = None,
    raw_csv: RawCsvOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """A model's rates (USD per million tokens; per image / per second where priced) and
    any overrides.

    Example: llmstats pricing show claude-sonnet-4-5
    """
    from ..pricing.rates import model_rates

    rows, notes = model_rates(data_dir, model)
    emit(render(rows, fmt, title=f"Prices matching {model!r}", notes=notes, raw_csv=raw_csv),
         output)


def pricing_set(
    model: Annotated[
        str | None, typer.Argument(help="The model as events record it (omit with --default).")
    ] = None,
    *,
    input_price: Annotated[
        float | None, typer.Option("--input", help="USD per million input tokens.")
    ] = None,
    output_price: Annotated[
        float | None, typer.Option("--output", help="USD per million output tokens.")
    ] = None,
    cache_read: Annotated[
        float | None, typer.Option(help="USD per million cache-read tokens.")
    ] = None,
    cache_write: Annotated[
        float | None, typer.Option(help="USD per million cache-write tokens.")
    ] = None,
    per_image: Annotated[float | None, typer.Option(help="USD per generated image.")] = None,
    per_second: Annotated[
        float | None, typer.Option(help="USD per second of transcribed audio.")
    ] = None,
    per_character: Annotated[
        float | None, typer.Option(help="USD per speech input character (--default only).")
    ] = None,
    per_query: Annotated[
        float | None, typer.Option(help="USD per rerank search unit (--default only).")
    ] = None,
    provider: Annotated[str | None, typer.Option(help="Only for this provider.")] = None,
    valid_from: Annotated[
        str | None,
        typer.Option(
            "--from", help="First day (UTC) the price applies; earlier events keep their old price."
        ),
    ] = None,
    valid_until: Annotated[
        str | None, typer.Option("--until", help="First day (UTC) the price no longer applies.")
    ] = None,
    default: Annotated[
        bool,
        typer.Option("--default", help="Set the default prices: what calls nothing prices cost."),
    ] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Add a negotiated or private price to <data dir>/pricing/overrides.toml, or with
    --default choose the price of calls no catalog entry or override prices.

    Examples: llmstats pricing set gpt-4o --input 2.0 --output 8.0 --from 2026-12-01;
    llmstats pricing set --default --input 5 --output 25
    """
    from ..errors import UsageError
    from ..pricing.overrides import PriceOverride, set_defaults, set_override

    resolved = resolved_data_dir(data_dir)
    if default:
        if model is not None or provider or valid_from or valid_until:
            raise UsageError("pricing set --default takes no MODEL, --provider, --from or --until")
        given = {"input": input_price, "output": output_price, "per_image": per_image,
                 "per_second": per_second, "per_character": per_character,
                 "per_query": per_query}
        changes = {key: value for key, value in given.items() if value is not None}
        if not changes:
            raise UsageError("pricing set --default: give at least one price (--input, --output, …)")
        defaults = set_defaults(resolved, changes)
        record(resolved, "pricing set", {"default": changes}, {"defaults": defaults})
        typer.echo("default prices: " + ", ".join(f"{k} {v:g}" for k, v in defaults.items()))
        return
    if model is None or input_price is None or output_price is None:
        raise UsageError("pricing set: give MODEL, --input and --output (or --default)")
    if per_character is not None or per_query is not None:
        raise UsageError("--per-character and --per-query set default prices: add --default")

    def day(value: str | None) -> dt.date | None:
        if not value:
            return None
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise UsageError(f"bad date {value!r}: use YYYY-MM-DD") from None

    entry = PriceOverride(
        model=model, input=input_price, output=output_price, provider=provider,
        cache_read=cache_read, cache_write=cache_write, per_image=per_image,
        per_second=per_second, valid_from=day(valid_from), valid_to=day(valid_until),
    )
    entries = set_override(resolved, entry)
    record(resolved, "pricing set",
           {"model": model, "provider": provider, "input": input_price, "output": output_price,
            "cache_read": cache_read, "cache_write": cache_write, "valid_from": valid_from,
            "valid_until": valid_until},
           {"overrides": len(entries)})
    typer.echo(f"{len(entries)} override(s) in pricing/overrides.toml")


def pricing_unset(
    model: Annotated[
        str | None, typer.Argument(help="Remove every override of this model.")
    ] = None,
    *,
    provider: Annotated[str | None, typer.Option(help="Only this provider's.")] = None,
    remove_all: Annotated[
        bool, typer.Option("--all", help="Remove every override and the default prices.")
    ] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Remove a model's overrides from <data dir>/pricing/overrides.toml (a bad entry
    included: this is how one that no longer loads goes).

    Example: llmstats pricing unset gpt-4o
    """
    from ..errors import UsageError
    from ..pricing.overrides import unset_override

    if (model is None) == (not remove_all):
        raise UsageError("pricing unset: give MODEL or --all")
    resolved = resolved_data_dir(data_dir)
    removed = unset_override(resolved, None if remove_all else model, provider)
    record(resolved, "pricing unset", {"model": model, "provider": provider, "all": remove_all},
           {"removed": removed})
    typer.echo(f"{removed} override(s) removed from pricing/overrides.toml")
