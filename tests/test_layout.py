"""The library's layout: no import cycle between runvar's modules, function-level imports included."""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def module_name(path: Path, src: Path = SRC) -> str:
    parts = path.relative_to(src).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(src: Path = SRC) -> dict[str, set[str]]:
    """runvar module -> the runvar modules it imports anywhere in its text (top level, in
    functions, under ``if``): a package counts as its ``__init__``, and ``from pkg import name``
    also as the submodule ``pkg.name`` where there is one."""
    paths = {module_name(p, src): p for p in (src / "runvar").rglob("*.py")}
    graph = {}
    for module, path in paths.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                names = [target] + [f"{target}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            found |= {name for name in names if name in paths and name != module}
        graph[module] = found
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_sees_function_level_and_package_imports(tmp_path):
    package = tmp_path / "runvar"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from .sub import thing  # here: it imports us\n")
    (package / "sub" / "__init__.py").write_text("from .thing import x\n")
    (package / "sub" / "thing.py").write_text("from runvar import a\nx = 1\n")
    (package / "b.py").write_text("import runvar.a\n")
    assert cycles(import_graph(tmp_path)) == [["runvar.a", "runvar.sub", "runvar.sub.thing"]]


def test_no_import_cycle_between_runvar_modules():
    graph = import_graph()
    assert "runvar.config" in graph and "runvar.seeds" in graph["runvar.config.variants"]
    assert cycles(graph) == [], "import cycles (move the shared pieces to where they belong)"
