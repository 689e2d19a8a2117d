"""`llmstats ddl`: the external table other engines need to read the dataset in place."""

from typing import Annotated

import typer

from ..store.external_tables import Engine
from .options import DataDirOption


def ddl(
    engine: Annotated[Engine, typer.Argument(help="athena, trino or spark.")],
    *,
    location: Annotated[str | None, typer.Option(help="The dataset's events folder (default: <data dir>/events).")] = None,
    table: Annotated[str, typer.Option(help="Table name (trino: schema.table).")] = "llmstats_events",
    first_date: Annotated[str, typer.Option(help="Athena partition projection: the first day to look for.")] = "2025-01-01",
    data_dir: DataDirOption = None,
) -> None:
    """Print CREATE TABLE for Athena (with partition projection), Trino (Hive connector)
    or Spark SQL over the dataset, generated from the event schema of this version.

    Example: llmstats ddl athena --data-dir s3://acme-llm/llmstats
    """
    from ..store.external_tables import events_location, table_ddl
    from ..store.files import resolve_data_dir

    where = location or events_location(resolve_data_dir(data_dir))
    if engine is Engine.spark and where.startswith("s3://"):
        where = "s3a://" + where.removeprefix("s3://")  # Hadoop's S3 filesystem
    typer.echo(table_ddl(engine, where, table, first_date), nl=False)
