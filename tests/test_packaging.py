"""The wheel carries both import packages, the fake provider and every SQL file."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


def test_the_wheel_ships_the_packages_and_the_sql(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    (wheel,) = tmp_path.glob("llmstats-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    # Every source file of both packages, subpackages and assets included: a package left
    # out of pyproject's list would be missing from the wheel (setuptools says so only as
    # a warning).
    sources = sorted(
        str(path.relative_to(ROOT))
        for folder in ("plugin", "analytics")
        for path in (ROOT / folder).rglob("*")
        if path.suffix in (".py", ".css", ".js") and "__pycache__" not in path.parts
    )
    assert len(sources) > 80 and "analytics/demo/fake_provider/server.py" in sources
    missing = [module for module in sources if f"llmstats/{module}" not in names]
    assert not missing, missing
    sql_files = sorted(p.name for p in (ROOT / "sql").glob("*.sql"))
    for name in sql_files:
        assert f"llmstats/sql/{name}" in names, name
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert (
        "llmstats = llmstats.analytics.cli:main"
        in zipfile.ZipFile(wheel).read(entry_points).decode()
    )
