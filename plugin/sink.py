"""The writer's target: Parquet files into a data dir, local or on object storage, each
written whole through `data_dir_files.write_file` (readers never see a partial file)."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq

from .data_dir_files import is_remote, object_store, write_file

PARQUET_OPTIONS = {"compression": "zstd", "write_statistics": True}


class Sink:
    def __init__(self, data_dir: str) -> None:
        self.data_dir = data_dir
        if is_remote(data_dir):
            object_store(data_dir)  # a bad URI fails here, not in the middle of a flush

    def write_table(self, relative: str, table: pa.Table) -> None:
        buffer = io.BytesIO()
        pq.write_table(table, buffer, **PARQUET_OPTIONS)
        self.write_bytes(relative, buffer.getvalue())

    def write_bytes(self, relative: str, data: bytes) -> None:
        write_file(self.data_dir, relative, data)
