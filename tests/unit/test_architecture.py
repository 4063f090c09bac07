"""The layers, one way: contract ← signal ← alerts ← service / gateway / board ← cli.

Checked on the code itself: every module imports alone in a fresh interpreter, and no module
imports from a layer above its own.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[2] / "kraamwacht"

# what each part of the core may import from kraamwacht (besides itself)
ALLOWED = {
    "contract": {"errors"},
    "jaundice": {"contract", "errors"},
    "signal": {"contract", "errors"},
    "alerts": {"contract", "errors", "signal", "jaundice"},
}
# the board shows what serve computed: none of its care pages may run a detector
DETECTORS = {
    "kraamwacht.signal": {"detect", "SubjectMonitor", "process_epochs"},
    "kraamwacht.alerts": {"detect_alerts", "AlertMonitor", "AlertBook"},
}
BOARD_CARE_PAGES = ("app.py", "client.py", "data.py", "feed.py", "model.py", "texts.py", "auth.py")


def modules() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__main__":
            continue
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def imported(path: Path) -> list[tuple[str, set[str]]]:
    """``(module, names)`` of every ``kraamwacht`` import in a file, at any depth."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("kraamwacht"):
            out.append((node.module, {a.name for a in node.names}))
        elif isinstance(node, ast.Import):
            out += [(a.name, set()) for a in node.names if a.name.startswith("kraamwacht")]
    return out


def test_every_module_imports_alone_in_a_fresh_interpreter() -> None:
    """A fork per module from an interpreter that has imported nothing of kraamwacht: cycles show."""
    script = (
        "import importlib, os, sys\n"
        "failed = []\n"
        "for name in sys.argv[1:]:\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        try:\n"
        "            importlib.import_module(name)\n"
        "        except BaseException as exc:\n"
        "            print(f'{name}: {type(exc).__name__}: {exc}', flush=True)\n"
        "            os._exit(1)\n"
        "        os._exit(0)\n"
        "    if os.waitpid(pid, 0)[1] != 0:\n"
        "        failed.append(name)\n"
        "sys.exit(1 if failed else 0)\n"
    )
    names = modules()
    assert len(names) > 80
    result = subprocess.run([sys.executable, "-c", script, *names], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_the_core_imports_nothing_from_above(layer: str) -> None:
    wrong = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        for module, _names in imported(path):
            top = module.split(".")[1] if "." in module else ""
            if top not in ALLOWED[layer] | {layer}:
                wrong.append(f"{path.relative_to(PACKAGE)} imports {module}")
    assert wrong == []


def test_the_core_loads_no_io_library() -> None:
    code = (
        "import sys, kraamwacht.contract, kraamwacht.signal, kraamwacht.alerts, kraamwacht.jaundice\n"
        "io = {'bleak', 'bumble', 'paho', 'influxdb_client', 'streamlit', 'asyncio', 'sqlite3', 'amqtt'}\n"
        "print(sorted(io & {m.split('.')[0] for m in sys.modules}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.strip() == "[]"


def test_the_board_runs_no_detector() -> None:
    wrong = []
    for name in BOARD_CARE_PAGES:
        for module, names in imported(PACKAGE / "dashboard" / name):
            if names & DETECTORS.get(module, set()) or module.startswith("kraamwacht.signal._"):
                wrong.append(f"dashboard/{name}: {module} {sorted(names)}")
    assert wrong == []
