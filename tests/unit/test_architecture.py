"""The package graph of conversion/ goes one way (docs/DEVELOPING.md): a domain package imports
only packages below it in LAYERS, imports inside functions included, so there is no cycle."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "conversion"

# Bottom to top. Shared single modules (extensions, errors, registry, urls, exports) sit under every
# domain; the assembly (the app factory, models, cli, seed, apidocs, observability, security)
# sits above them all.
LAYERS = [
    "alleles",
    "catalogue",
    "accounts",
    "requests",
    "lab",
    "invoices",
    "documents",
    "notifications",
    "dashboards",
    "api",
    "pages",
]
SHARED = {"extensions", "errors", "registry", "urls", "exports", "inputs", "countries", "reads"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(path: Path) -> set[str]:
    """Absolute names of every module imported by path (inside functions too)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            out.add(base)
            out.update(f"{base}.{alias.name}" for alias in node.names)
    return out


def _unit(module: str) -> str | None:
    """The domain package or shared module a name belongs to (None outside conversion/)."""
    parts = module.split(".")
    if parts[0] != "conversion":
        return None
    return (
        parts[1] if len(parts) > 1 and ((APP / parts[1]).is_dir() or (APP / f"{parts[1]}.py").exists()) else "__init__"
    )


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for path in APP.rglob("*.py"):
        here = _unit(_module_name(path))
        for name in _imported(path):
            there = _unit(name)
            if there and there != here:
                graph[here].add(there)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_package_graph_has_no_cycle():
    cycle = _cycle(package_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_domain_packages_import_only_lower_layers():
    graph = package_graph()
    domains = {p.name for p in APP.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert domains <= set(LAYERS), f"place new packages in LAYERS: {sorted(domains - set(LAYERS))}"
    upward = [
        f"{a} -> {b}"
        for a in LAYERS
        for b in sorted(graph.get(a, ()))
        if b in LAYERS and LAYERS.index(b) > LAYERS.index(a)
    ]
    assert not upward, "imports against the layer order: " + ", ".join(upward)
    to_app = [f"{a} -> {b}" for a in LAYERS for b in sorted(graph.get(a, ())) if b not in LAYERS and b not in SHARED]
    assert not to_app, "domain packages import the assembly (app factory, cli, ...): " + ", ".join(to_app)
    shared_up = [f"{a} -> {b}" for a in SHARED for b in sorted(graph.get(a, ())) if b not in SHARED]
    assert not shared_up, "shared modules import domains: " + ", ".join(shared_up)


def test_the_detector_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_workflows_stays_free_of_flask_and_sql():
    for path in (ROOT / "workflows").rglob("*.py"):
        roots = {name.split(".")[0] for name in _imported(path)}
        assert not roots & {"flask", "sqlalchemy", "conversion", "flask_sqlalchemy"}, path
