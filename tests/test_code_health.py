"""Structure rules that keep the code easy to change (DESIGN §7, CONVENTIONS):

* no import cycle between areas (every ``import`` statement counts, also those inside functions);
* every module imports on its own in a fresh interpreter;
* views never commit: no ``db.session.commit()`` / ``rollback()`` in a route module;
* templates do not guard links with ``has_endpoint`` (a missing endpoint must fail loudly);
* ruff passes (including RUF100: no unused ``# noqa``).
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "marketplace"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _area(module: str) -> str | None:
    """``marketplace.scenarios.routes`` → ``scenarios``; the root package itself is not an area."""
    parts = module.split(".")
    return parts[1] if parts[0] == "marketplace" and len(parts) > 1 else None


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def area_graph() -> dict[str, dict[str, list[str]]]:
    """area → imported area → ["file:line", …], from every import statement of every module."""
    graph: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in _modules():
        source = _area(_module_name(path))
        if source is None:  # marketplace/__init__.py: the factory wires every area
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                targets = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            for target in targets:
                area = _area(target)
                if area and area != source and ((PACKAGE / area).is_dir() or (PACKAGE / f"{area}.py").exists()):
                    graph[source][area].append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return graph


def _cycles(graph: dict[str, dict[str, list[str]]]) -> list[list[str]]:
    """Strongly connected components with more than one area (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, {}):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in list(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_between_areas():
    graph = area_graph()
    cycles = _cycles(graph)
    detail = [f"{a} -> {b}: {', '.join(graph[a][b][:3])}" for cycle in cycles for a in cycle for b in cycle
              if b in graph.get(a, {})]
    assert not cycles, "import cycles between areas:\n" + "\n".join(detail)


def test_the_cycle_check_finds_a_cycle():
    assert _cycles({"a": {"b": ["x:1"]}, "b": {"c": ["y:2"]}, "c": {"a": ["z:3"]}, "d": {}}) == [["a", "b", "c"]]


def test_every_module_imports_on_its_own():
    """Each area on its own, then every module, so an import that only works after another fails here.

    One fresh interpreter loads the third-party libraries once, then forks a child per area (a child
    starts with no ``marketplace`` module loaded) that imports the area's package and then each of its
    modules: seconds instead of minutes of interpreters.
    """
    by_area: dict[str, list[str]] = defaultdict(list)
    for path in _modules():
        name = _module_name(path)
        by_area[_area(name) or ""].append(name)
    names = [sorted(group, key=lambda n: (n.count("."), n)) for group in by_area.values()]
    script = (
        "import os, sys, traceback\n"
        "import importlib, pkgutil\n"
        "for lib in ('flask', 'flask_sqlalchemy', 'flask_babel', 'flask_login', 'flask_wtf', 'flask_migrate',\n"
        "            'sqlalchemy', 'sqlalchemy.dialects.postgresql', 'sqlalchemy.dialects.sqlite', 'numpy',\n"
        "            'scipy.sparse', 'sklearn.feature_extraction.text', 'whoosh.index', 'whoosh.fields',\n"
        "            'whoosh.qparser', 'openpyxl', 'wtforms', 'email_validator', 'rjieba', 'jieba', 'alembic'):\n"
        "    try:\n"
        "        importlib.import_module(lib)\n"
        "    except ImportError:\n"
        "        pass\n"
        "failed = []\n"
        f"for name in {names!r}:\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        try:\n"
        "            for module in name:\n"
        "                __import__(module)\n"
        "        except BaseException:\n"
        "            sys.stdout.write(module + ': ' + traceback.format_exc().strip().splitlines()[-1] + '\\n')\n"
        "            sys.stdout.flush()\n"
        "            os._exit(1)\n"
        "        os._exit(0)\n"
        "    os.waitpid(pid, 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


ROUTE_MODULES = sorted({*PACKAGE.glob("*/routes*.py"), *PACKAGE.glob("*/*_routes.py"), *PACKAGE.glob("api/*.py"),
                        PACKAGE / "search_views.py"})


@pytest.mark.parametrize("path", ROUTE_MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_views_never_commit(path):
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"db\.session\.(commit|rollback)\(\)", text)


def test_templates_have_no_endpoint_guards():
    guarded = [str(p.relative_to(ROOT)) for p in (ROOT / "templates").rglob("*.html") if "has_endpoint" in p.read_text()]
    assert guarded == []


@pytest.mark.skipif(shutil.which("ruff") is None and not (Path(sys.executable).parent / "ruff").exists(),
                    reason="ruff is not installed (pip install -e '.[dev]')")
def test_ruff_passes():
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    result = subprocess.run([ruff, "check", "--quiet", "."], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
