"""`llmstats pricing update | show | set`: the catalog snapshot and the user's overrides."""

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
    model: Annotated[str, typer.Argument(help="The model as events record it.")],
    *,
    input_price: Annotated[float, typer.Option("--input", help="USD per million input tokens.")],
    output_price: Annotated[float, typer.Option("--output", help="USD per million output tokens.")],
    cache_read: Annotated[
        float | None, typer.Option(help="USD per million cache-read tokens.")
    ] = None,
    cache_write: Annotated[
        float | None, typer.Option(help="USD per million cache-write tokens.")
    ] = None,
    provider: Annotated[str | None, typer.Option(help="Only for this provider.")] = None,
    valid_from: Annotated[
        str | None,
        typer.Option(
            "--from", help="First day (UTC) the price applies; earlier events keep their old price."
        ),
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Add a negotiated or private price to <data dir>/pricing/overrides.toml.

    Example: llmstats pricing set gpt-4o --input 2.0 --output 8.0 --from 2026-12-01
    """
    from ..errors import UsageError
    from ..pricing.overrides import PriceOverride, set_override

    start = None
    if valid_from:
        try:
            start = dt.date.fromisoformat(valid_from)
        except ValueError:
            raise UsageError(f"bad date {valid_from!r}: use YYYY-MM-DD") from None
    entry = PriceOverride(
        model=model,
        input=input_price,
        output=output_price,
        provider=provider,
        cache_read=cache_read,
        cache_write=cache_write,
        valid_from=start,
    )
    resolved = resolved_data_dir(data_dir)
    entries = set_override(resolved, entry)
    record(resolved, "pricing set",
           {"model": model, "provider": provider, "input": input_price, "output": output_price,
            "cache_read": cache_read, "cache_write": cache_write, "valid_from": valid_from},
           {"overrides": len(entries)})
    typer.echo(f"{len(entries)} override(s) in pricing/overrides.toml")
