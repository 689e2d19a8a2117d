"""External table DDL for engines that read the dataset directly (Athena, Trino, Spark).

Generated from EVENT_SCHEMA, so the column list and types always match what the writer of
this version writes (the schema only grows: a table created by an older version simply
lacks the newer columns). Hive-style DDL (Athena, Spark SQL) and Trino's Hive connector
spell types differently; both map Parquet exactly:

    string → string / varchar            int64 → bigint        int32 → int / integer
    float64 → double                     bool → boolean
    timestamp(us, UTC) → timestamp (Trino: timestamp(6), with hive.timestamp-precision)
    list<string> → array<string> / array(varchar)
    list<struct<role, kind, tokens>> → array<struct<role:string,kind:string,tokens:bigint>>
                                       / array(row(role varchar, kind varchar, tokens bigint))
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import TYPE_CHECKING

from ..errors import UsageError

if TYPE_CHECKING:  # pyarrow loads inside the functions: `llmstats --help` stays fast
    import pyarrow as pa


class Engine(StrEnum):
    athena = "athena"
    trino = "trino"
    spark = "spark"


def hive_type(t: pa.DataType) -> str:
    import pyarrow as pa

    if pa.types.is_list(t):
        return f"array<{hive_type(t.value_type)}>"
    if pa.types.is_struct(t):
        return "struct<" + ",".join(f"{f.name}:{hive_type(f.type)}" for f in t) + ">"
    if pa.types.is_timestamp(t):
        return "timestamp"
    return _SCALARS[str(t)][0]


def trino_type(t: pa.DataType) -> str:
    import pyarrow as pa

    if pa.types.is_list(t):
        return f"array({trino_type(t.value_type)})"
    if pa.types.is_struct(t):
        return "row(" + ", ".join(f"{f.name} {trino_type(f.type)}" for f in t) + ")"
    if pa.types.is_timestamp(t):
        return "timestamp(6)"
    return _SCALARS[str(t)][1]


_SCALARS = {
    "string": ("string", "varchar"),
    "int64": ("bigint", "bigint"),
    "int32": ("int", "integer"),
    "double": ("double", "double"),
    "bool": ("boolean", "boolean"),
}


def events_location(data_dir: str) -> str:
    """Where the event partitions live; Hadoop-based engines spell S3 `s3a://`."""
    return f"{data_dir.rstrip('/')}/events"


_TABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")
_LOCATION = re.compile(
    r"^(?:[a-z][a-z0-9+.-]*://[A-Za-z0-9._-]+(?::[0-9]+)?|(?=/))(?:/[A-Za-z0-9._~=+%/-]*)?$")
"""A URI `scheme://bucket[:port]/path` or an absolute path, of characters that need no
quoting in any engine's string literal (no quote, backslash, space or `${`)."""


def check_table(table: str) -> str:
    """A table name (`name` or `schema.name`) that goes into DDL as it is."""
    if not _TABLE.match(table):
        raise UsageError(f"bad table name {table!r}: use letters, digits and _ "
                         "(NAME or SCHEMA.NAME, starting with a letter or _)")
    return table


def check_location(location: str) -> str:
    """A location that goes into DDL as it is. A URI with credentials or query options is
    refused without repeating it (it may hold a secret): engines use their own."""
    _scheme, sep, rest = location.partition("://")
    if sep and "@" in rest.split("/", 1)[0]:
        raise UsageError("the location must not carry credentials (user:secret@): "
                         "the engine reads the bucket with its own (docs/fleet.md)")
    if sep and ("?" in rest or "#" in rest):
        raise UsageError("the location takes no query options: give scheme://bucket/path")
    if not _LOCATION.match(location):
        raise UsageError(f"bad location {location!r}: give scheme://bucket/path or an "
                         "absolute path, of letters, digits and . _ - ~ = + % /")
    return location


def check_first_date(first_date: str) -> str:
    """Athena's first partition day: a date (YYYY-MM-DD)."""
    try:
        if len(first_date) == 10:
            return dt.date.fromisoformat(first_date).isoformat()
    except ValueError:
        pass
    raise UsageError(f"bad first date {first_date!r}: use YYYY-MM-DD")


def table_ddl(engine: Engine, location: str, table: str = "llmstats_events",
              first_date: str = "2025-01-01") -> str:
    """CREATE statements (and the partition step) for one engine over `location`, the
    `events` folder of a data dir. Nothing reaches the DDL unchecked: the table name is
    an identifier, the location a plain URI or path (never one with credentials), the
    first date a date (UsageError otherwise)."""
    from llmstats.plugin.schema import EVENT_SCHEMA

    location = check_location(location.rstrip("/"))
    table = check_table(table)
    first_date = check_first_date(first_date)
    if engine is Engine.trino:
        columns = ",\n".join(f'  "{f.name}" {trino_type(f.type)}' for f in EVENT_SCHEMA)
        schema_name, _, name = table.rpartition(".")
        schema_name = schema_name or "llmstats"
        return (f'CREATE TABLE hive.{schema_name}.{name} (\n{columns},\n  "date" date\n)\n'
                f"WITH (\n  external_location = '{location}',\n  format = 'PARQUET',\n"
                f"  partitioned_by = ARRAY['date']\n);\n"
                f"-- New days appear after (run it from the maintenance job):\n"
                f"CALL hive.system.sync_partition_metadata('{schema_name}', '{name}', 'ADD');\n")
    columns = ",\n".join(f"  `{f.name}` {hive_type(f.type)}" for f in EVENT_SCHEMA)
    if engine is Engine.spark:
        return (f"CREATE TABLE {table} (\n{columns},\n  `date` date\n)\nUSING parquet\n"
                f"PARTITIONED BY (`date`)\nLOCATION '{location}';\n"
                f"-- New days appear after:\nMSCK REPAIR TABLE {table};\n")
    return (f"CREATE EXTERNAL TABLE {table} (\n{columns}\n)\n"
            f"PARTITIONED BY (`date` date)\nSTORED AS PARQUET\nLOCATION '{location}/'\n"
            "TBLPROPERTIES (\n"
            "  -- Partition projection: no MSCK REPAIR or Glue crawler as days are added.\n"
            "  'projection.enabled' = 'true',\n"
            "  'projection.date.type' = 'date',\n"
            "  'projection.date.format' = 'yyyy-MM-dd',\n"
            f"  'projection.date.range' = '{first_date},NOW',\n"
            "  'projection.date.interval' = '1',\n"
            "  'projection.date.interval.unit' = 'DAYS',\n"
            f"  'storage.location.template' = '{location}/date=${{date}}/'\n"
            ");\n")
