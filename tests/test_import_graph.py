"""The import graph of the hlsgen package (gen/ as hlsgen, sim/ as
hlsgen.sim) has no cycle, counting the imports made inside functions too,
and nothing imports the names the package had before it was one
(gen, sim, hlsgen_templates, hlsgen_boards). Read from the sources with
ast: nothing is imported, so a cycle is found even where Python would
survive it today."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Folders -> the package names they install as (pyproject.toml, [tool.setuptools.package-dir]).
FOLDERS = {"gen": "hlsgen", "sim": "hlsgen.sim"}
SKIP = [ROOT / "sim" / "pynq_emulator"]      # a stand-in `pynq` package for the board, not hlsgen
OLD_NAMES = ("gen", "sim", "hlsgen_templates", "hlsgen_boards")


def module_files(root: Path = ROOT) -> dict[str, Path]:
    """Module name -> file, for every .py file under the folders."""
    found = {}
    for folder, package in FOLDERS.items():
        for path in sorted((root / folder).rglob("*.py")):
            if any(path.is_relative_to(s) for s in SKIP):
                continue
            parts = list(path.relative_to(root / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join([package, *parts])] = path
    return found


def imports_in(source: str, module: str, is_package: bool) -> list[tuple[str, str | None, int]]:
    """Every import in source, at any depth (functions, methods, branches):
    (module imported, name imported from it or None, line). Relative imports
    are resolved against `module`; importlib.import_module("x") counts."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(alias.name, None, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".") if is_package else module.split(".")[:-1]
                package = package[:len(package) - (node.level - 1)]
                base = ".".join(package + ([base] if base else []))
            found += [(base, alias.name, node.lineno) for alias in node.names]
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and ast.unparse(node.func) in ("importlib.import_module", "import_module", "__import__")):
            found.append((node.args[0].value, None, node.lineno))
    return sorted(found, key=lambda f: f[2])           # in line order (ast.walk is breadth-first)


def resolve(imported: str, name: str | None, modules) -> str | None:
    """The module of ours an import executes: `from a.b import c` is a.b.c
    when that is a module, else a.b; `import a.b` is a.b. None: not ours."""
    if name is not None and f"{imported}.{name}" in modules:
        return f"{imported}.{name}"
    return imported if imported in modules else None


def import_graph(files: dict[str, Path]):
    """(graph: module -> {imported module: line}, problems: list of strings)."""
    graph, problems = {}, []
    for module, path in files.items():
        edges = graph.setdefault(module, {})
        where = shown(path)
        for imported, name, line in imports_in(path.read_text(), module, path.name == "__init__.py"):
            top = imported.split(".")[0]
            if top in OLD_NAMES:
                problems.append(f"{where}:{line} imports the old name '{imported}'; "
                                f"use hlsgen (gen/ -> hlsgen, sim/ -> hlsgen.sim)")
            elif top == "hlsgen":
                target = resolve(imported, name, files)
                if target is None:
                    problems.append(f"{where}:{line} imports {imported}, which is no module of "
                                    "gen/ or sim/")
                else:
                    edges.setdefault(target, line)
    return graph, problems


def find_cycle(graph: dict[str, dict]) -> list[str] | None:
    """One cycle of the directed graph as [a, b, ..., a], or None."""
    state = {}                                   # 1: on the current path, 2: done

    def visit(node, path):
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt, path)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            cycle = visit(start, [])
            if cycle:
                return cycle
    return None


def shown(path: Path) -> Path:
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def describe(cycle: list[str], graph, files) -> str:
    return "\n".join(f"  {a} ({shown(files[a])}:{graph[a][b]}) imports {b}"
                     for a, b in zip(cycle, cycle[1:]))


# --- the package --------------------------------------------------------------------

FILES = module_files()
GRAPH, PROBLEMS = import_graph(FILES)


def test_every_file_has_a_module_name():
    assert "hlsgen" in FILES and "hlsgen.sim" in FILES and "hlsgen.ir.graph" in FILES
    assert FILES["hlsgen.sim.csim"] == ROOT / "sim" / "csim.py"
    assert not any(".pynq_emulator" in m for m in FILES)
    assert len(FILES) == len({p for p in FILES.values()})


def function_import_lines(source: str) -> set[int]:
    """Lines of the imports made inside a function."""
    return {i.lineno for f in ast.walk(ast.parse(source))
            if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
            for i in ast.walk(f) if isinstance(i, (ast.Import, ast.ImportFrom))}


def test_the_import_graph_is_read():
    """Imports at the top and inside functions both count (not vacuous)."""
    assert sum(len(e) for e in GRAPH.values()) > 100
    assert "hlsgen.ir.qtype" in GRAPH["hlsgen.ir.graph"]
    lazy = []
    for module, edges in GRAPH.items():
        inside = function_import_lines(FILES[module].read_text())
        lazy += [(module, t) for t, line in edges.items() if line in inside]
    assert len(lazy) > 10, lazy


def test_no_module_imports_an_old_name_or_a_missing_module():
    assert not PROBLEMS, "\n".join(PROBLEMS)


def test_the_import_graph_has_no_cycle():
    cycle = find_cycle(GRAPH)
    assert cycle is None, ("import cycle " + " -> ".join(cycle) + "\n"
                           + describe(cycle, GRAPH, FILES)
                           + "\nmove what both need into a third module, or pass it as an argument")


# --- the checks themselves can fail ----------------------------------------------------

def test_find_cycle_on_hand_made_graphs():
    assert find_cycle({"a": {"b": 1}, "b": {"c": 1}, "c": {}, "d": {"a": 1}}) is None
    assert find_cycle({"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}, "d": {"a": 1}}) == ["a", "b", "c", "a"]
    assert find_cycle({"x": {"y": 1}, "y": {"y": 1}}) == ["y", "y"]
    assert find_cycle({"a": {"b": 1, "d": 1}, "b": {}, "d": {"e": 1}, "e": {"d": 1}}) == ["d", "e", "d"]


def test_imports_in_finds_nested_relative_and_dynamic_imports():
    source = (
        "import hlsgen.ir.graph\n"
        "from hlsgen.passes import lower, run_passes\n"
        "def f():\n"
        "    from .qtype import QType\n"
        "    class C:\n"
        "        def g(self):\n"
        "            import gen.flow\n"
        "    return importlib.import_module('hlsgen_boards')\n")
    assert imports_in(source, "hlsgen.ir.golden", is_package=False) == [
        ("hlsgen.ir.graph", None, 1), ("hlsgen.passes", "lower", 2), ("hlsgen.passes", "run_passes", 2),
        ("hlsgen.ir.qtype", "QType", 4), ("gen.flow", None, 7), ("hlsgen_boards", None, 8)]
    assert imports_in("from . import a\nfrom ..b import c\n", "hlsgen.x", is_package=True) == [
        ("hlsgen.x", "a", 1), ("hlsgen.b", "c", 2)]
    assert imports_in("from .. import c\n", "hlsgen.x.y", is_package=False) == [("hlsgen", "c", 1)]
    modules = {"hlsgen.passes", "hlsgen.passes.lower"}
    assert resolve("hlsgen.passes", "lower", modules) == "hlsgen.passes.lower"
    assert resolve("hlsgen.passes", "run_passes", modules) == "hlsgen.passes"
    assert resolve("numpy", None, modules) is None


def test_a_cycle_and_an_old_name_in_a_hand_made_package(tmp_path):
    """Two modules importing each other (one inside a function), an old
    top-level name and a module that does not exist: all reported, with
    file and line."""
    (tmp_path / "gen" / "sub").mkdir(parents=True)
    (tmp_path / "sim").mkdir()
    (tmp_path / "gen" / "__init__.py").write_text("def later():\n    import hlsgen.nothere\n")
    (tmp_path / "gen" / "sub" / "__init__.py").write_text("from hlsgen.sub.b import B\n")
    (tmp_path / "gen" / "sub" / "a.py").write_text("A = 1\ndef f():\n    from hlsgen.sub import b\n")
    (tmp_path / "gen" / "sub" / "b.py").write_text("from .a import A\nB = A\nimport sim.csim\n")
    (tmp_path / "sim" / "__init__.py").write_text("")
    files = module_files(tmp_path)
    assert set(files) == {"hlsgen", "hlsgen.sub", "hlsgen.sub.a", "hlsgen.sub.b", "hlsgen.sim"}
    graph, problems = import_graph(files)
    assert graph["hlsgen.sub.a"] == {"hlsgen.sub.b": 3} and graph["hlsgen.sub.b"] == {"hlsgen.sub.a": 1}
    cycle = find_cycle(graph)
    assert cycle in (["hlsgen.sub.a", "hlsgen.sub.b", "hlsgen.sub.a"],
                     ["hlsgen.sub.b", "hlsgen.sub.a", "hlsgen.sub.b"])
    assert "b.py:1) imports hlsgen.sub.a" in describe(cycle, graph, files)
    assert len(problems) == 2, problems
    assert "__init__.py:2 imports hlsgen.nothere, which is no module" in problems[0]
    assert "b.py:3 imports the old name 'sim.csim'" in problems[1]
