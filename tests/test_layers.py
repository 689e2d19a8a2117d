"""The package layout holds: no import cycle between analytics' packages (or plugin's
modules), plugin/ imports nothing from analytics/, and every module imports on its own in
a fresh interpreter, in any order."""

from __future__ import annotations

import ast
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = {"llmstats.plugin": ROOT / "plugin", "llmstats.analytics": ROOT / "analytics"}
# Bottom to top: a package may import only from packages before it. Top-level modules
# (errors, query, connection) are layers of their own.
ANALYTICS_LAYERS = ("errors", "query", "store", "pricing", "rollups", "connection", "report",
                    "maintenance", "html", "demo", "web", "cli")


def modules() -> list[str]:
    found = []
    for package, folder in SOURCES.items():
        for path in sorted(folder.rglob("*.py")):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__main__":
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found.append(".".join([package, *parts]))
    return sorted(found)


def source_of(module: str) -> Path:
    package = next(p for p in SOURCES if module == p or module.startswith(p + "."))
    rest = module[len(package):].lstrip(".").split(".") if module != package else []
    base = SOURCES[package].joinpath(*rest) if rest else SOURCES[package]
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


def runtime_imports(module: str) -> set[str]:
    """Modules imported when `module` runs (at its top level or inside functions), not
    under `if TYPE_CHECKING:`; relative imports resolved."""
    path = source_of(module)
    tree = ast.parse(path.read_text())
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")
                    base = base[: len(base) - child.level + 1]
                    target = ".".join([*base, child.module] if child.module else base)
                else:
                    target = child.module or ""
                found.add(target)
                found.update(f"{target}.{alias.name}" for alias in child.names)
            elif isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            visit(child)

    visit(tree)
    return {name for name in found if name.startswith("llmstats.")}


def analytics_layer(module: str) -> str | None:
    if not module.startswith("llmstats.analytics."):
        return None
    return module.split(".")[2]


def test_plugin_imports_nothing_from_analytics() -> None:
    for module in modules():
        if module.startswith("llmstats.plugin"):
            reached = {m for m in runtime_imports(module) if m.startswith("llmstats.analytics")}
            assert not reached, (module, reached)


def test_analytics_packages_import_only_the_layers_below_them() -> None:
    wrong = []
    for module in modules():
        layer = analytics_layer(module)
        if layer is None:
            continue
        assert layer in ANALYTICS_LAYERS, f"{module}: place its package in ANALYTICS_LAYERS"
        for target in runtime_imports(module):
            other = analytics_layer(target)
            if other is None or other == layer or other not in ANALYTICS_LAYERS:
                continue
            if ANALYTICS_LAYERS.index(other) > ANALYTICS_LAYERS.index(layer):
                wrong.append(f"{module} imports {target} (above it)")
    assert not wrong, "\n".join(wrong)


def test_no_import_cycle_between_modules() -> None:
    graph = {m: {t for t in runtime_imports(m) if t in set(modules())} - {m} for m in modules()}
    state: dict[str, int] = {}

    def walk(node: str, path: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph[node]):
            # A package's __init__ importing its own modules is not a cycle in the layers.
            if node.startswith(target + ".") or target.startswith(node + "."):
                continue
            if state.get(target) == 1:
                cycle = [*path[path.index(target):], target] if target in path else [node, target]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if target not in state:
                walk(target, [*path, target])
        state[node] = 2

    for module in modules():
        if module not in state:
            walk(module, [module])


def _import_alone(module: str) -> tuple[str, str]:
    result = subprocess.run(
        [sys.executable, "-c", f"import {module}"], capture_output=True, text=True, timeout=120,
        env={"LITELLM_LOCAL_MODEL_COST_MAP": "True", "PATH": "/usr/bin:/bin"},
    )
    last = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else ""
    return module, last if result.returncode else ""


def test_every_module_imports_alone_in_a_fresh_interpreter() -> None:
    with ThreadPoolExecutor(2) as pool:
        failed = [f"{m}: {error}" for m, error in pool.map(_import_alone, modules()) if error]
    assert not failed, "\n".join(failed)


@pytest.mark.parametrize("order", ["sorted", "reversed"])
def test_all_modules_import_in_one_interpreter_in_either_order(order: str) -> None:
    names = modules() if order == "sorted" else modules()[::-1]
    code = "import importlib\n" + "".join(f"importlib.import_module({n!r})\n" for n in names)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300, env={"LITELLM_LOCAL_MODEL_COST_MAP": "True",
                                              "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr[-2000:]
