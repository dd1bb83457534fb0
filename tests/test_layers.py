"""The shape of the code (ARCHITECTURE.md): no import circles anywhere, and every import goes down the layers.

Read from the source with `ast` (every `import`, at the top or inside a function, TYPE_CHECKING blocks
too), so a lazy import cannot hide a circle. A failure names the import to remove and the rule it breaks.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("core", "ui", "app_pages")  # and streamlit_app.py (see _modules)

# Bottom to top. A module may import its own layer and the layers below it, never one above.
# (name, module prefixes); the first prefix that matches a module wins, the longest prefixes are listed first.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("base", ("core.secrets_file", "core.units", "core.config", "core.errors", "core.models")),
    ("net", ("core.net",)),
    ("authoring", ("core.authoring",)),
    ("emulator", ("core.emulator",)),
    ("jobs", ("core.jobs",)),
    ("storage", ("core.storage",)),
    ("engine", ("core.engine",)),
    ("team", ("core.team",)),
    ("compare", ("core.compare",)),
    ("core top", ("core.server", "core.__main__", "core")),
    ("ui shared", ("ui",)),  # session, frame, welcome, media_links, nav, text, phone: never a page family
    ("ui results", ("ui.results",)),  # Jobs, Gallery, Library
    ("ui compare", ("ui.compare",)),  # uses the results' job player and library
    ("ui create", ("ui.create",)),  # uses the Library panels and the "Compare variants" button
    ("pages", ("app_pages", "streamlit_app")),
)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {"streamlit_app": ROOT / "streamlit_app.py"}
    for top in SOURCES:
        for path in sorted((ROOT / top).rglob("*.py")):
            found[_module_name(path)] = path
    return found


MODULES = _modules()


def _known(name: str) -> str | None:
    """The project module `name` refers to (a name inside a module counts as the module), or None."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(name: str, path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {m for a in node.names if (m := _known(a.name))}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                target = _known(f"{base}.{alias.name}") or _known(base)
                if target:
                    out.add(target)
    out.discard(name)
    return out


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def layer_of(module: str) -> int:
    best: tuple[int, int] | None = None  # (prefix length, layer)
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            inside = module == prefix or module.startswith(prefix + ".")
            if inside and (best is None or len(prefix) > best[0]):
                best = (len(prefix), index)
    assert best is not None, f"{module} is in no layer: add it to LAYERS in tests/test_layers.py"
    return best[1]


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
    return found


def test_the_graph_is_read():
    assert len(MODULES) > 50
    assert "core.authoring.catalog" in GRAPH["core.authoring.check"]
    assert "ui.create.form" in GRAPH["ui.create.page"]  # ui, app_pages and the router are read too
    assert "ui.create.page" in GRAPH["app_pages.text_to_video"]
    assert "ui.frame" in GRAPH["streamlit_app"]  # an import inside a function counts


def test_no_import_circles():
    assert circles(GRAPH) == []


def test_circle_finder_finds_one():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_down_the_layers(module):
    mine = layer_of(module)
    upward = sorted(
        f"{module} ({LAYERS[mine][0]}) imports {target} ({LAYERS[layer_of(target)][0]})"
        for target in GRAPH[module]
        if layer_of(target) > mine
    )
    assert upward == []


def test_every_package_says_what_it_owns():
    for init in sorted([*(ROOT / "core").glob("*/__init__.py"), ROOT / "ui" / "__init__.py",
                        *(ROOT / "ui").glob("*/__init__.py")]):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        assert "May import" in doc, f"{init.relative_to(ROOT)}: say what it owns and what it may import"


LONG_LINES = 800
LONG_REASON = "Why this file is long"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_a_long_module_says_why(module):
    """No module over ~800 lines without a reason written at its top (in its docstring)."""
    path = MODULES[module]
    text = path.read_text(encoding="utf-8")
    if text.count("\n") <= LONG_LINES:
        return
    doc = ast.get_docstring(ast.parse(text)) or ""
    assert LONG_REASON in doc, f"{path.relative_to(ROOT)} is over {LONG_LINES} lines: split it, or say why"
