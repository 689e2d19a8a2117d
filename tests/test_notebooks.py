"""The notebooks in notebooks/: committed without outputs, one `data_dir` parameter each,
and executed top to bottom (nbclient, a real ipykernel) against the generator's sample
dataset, every chart with data in it."""

from __future__ import annotations

import ast
import os
from pathlib import Path
from typing import Any

import nbformat
import pytest

from tests.support.sample_dataset import write_sample_dataset

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
PLOTLY = "application/vnd.plotly.v1+json"
MIN_CHARTS = 5


def test_there_are_the_three_notebooks_the_docs_describe() -> None:
    assert {p.stem for p in NOTEBOOKS} >= {"finops", "engineering", "segments"}
    docs = (ROOT / "docs" / "dashboard.md").read_text()
    for path in NOTEBOOKS:
        assert f"`{path.name}`" in docs, f"docs/dashboard.md does not describe {path.name}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_notebooks_carry_no_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"cell {index} has outputs: clear them before committing"
            assert cell.execution_count is None, f"cell {index} has an execution count"
        assert not cell.get("attachments"), f"cell {index} has attachments"
    assert "widgets" not in notebook.metadata


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_each_notebook_has_one_data_dir_parameter_and_uses_the_library(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    tagged = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    assigned = [
        target.id
        for node in ast.parse(tagged[0].source).body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    ]
    assert assigned == ["data_dir"]
    code = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    assert "connect(data_dir)" in code and "import polars" in code and "sql(" in code
    assert code.count("fig.show()") >= MIN_CHARTS
    markdown = [c for c in notebook.cells if c.cell_type == "markdown"]
    assert len(markdown) >= MIN_CHARTS, "each part is explained"


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample_dataset(tmp_path_factory.mktemp("sample") / "data")


def inject_parameters(notebook: Any, **values: Any) -> None:
    """What papermill does: a cell after the tagged one, overriding its values."""
    index = next(i for i, c in enumerate(notebook.cells) if "parameters" in c.metadata.get("tags", []))
    source = "\n".join(f"{name} = {value!r}" for name, value in values.items())
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]})
    notebook.cells.insert(index + 1, cell)


def has_data(trace: dict[str, Any]) -> bool:
    for key in ("x", "y", "z", "values", "lat", "r"):
        values = trace.get(key)
        if isinstance(values, dict):  # plotly's typed arrays: {"dtype": ..., "bdata": ...}
            if values.get("bdata"):
                return True
        elif isinstance(values, list) and any(v is not None for v in values):
            return True
    return False


def execute(path: Path, workdir: Path, **parameters: Any) -> Any:
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    if parameters:
        inject_parameters(notebook, **parameters)
    # A failing cell raises CellExecutionError with the cell and its traceback.
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
    ).execute()
    return notebook


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_notebook_runs_top_to_bottom_and_every_chart_has_data(
    path: Path, sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if path.stem == "finops":
        # The parameter left at None: the notebook falls back to LLMSTATS_DATA_DIR.
        monkeypatch.setenv("LLMSTATS_DATA_DIR", str(sample))
        notebook = execute(path, tmp_path)
    else:
        # The parameter set (as papermill would); the environment points at nothing, so
        # a notebook that ignored its parameter would draw empty charts and fail below.
        monkeypatch.setenv("LLMSTATS_DATA_DIR", str(tmp_path / "empty"))
        notebook = execute(path, tmp_path, data_dir=str(sample))
    assert os.environ["LLMSTATS_DATA_DIR"]
    charts = 0
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        assert not [o for o in cell.outputs if o.output_type == "error"], index
        figures = [o.data[PLOTLY] for o in cell.outputs if PLOTLY in o.get("data", {})]
        if "fig.show()" in cell.source:
            assert figures, f"cell {index} shows no chart"
        for figure in figures:
            traces = figure.get("data", [])
            assert traces and all(has_data(t) for t in traces), f"cell {index}: an empty chart"
            charts += 1
    assert charts >= MIN_CHARTS
