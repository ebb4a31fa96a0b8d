"""The direction of the imports, checked with ``ast`` over the source tree.

``geo/`` is the core: it never imports Flask, Folium, the web app, the scripts or the
``linli`` package.  The faces (``webapp/``, ``scripts/``) import ``geo`` (and may read
the environment through ``linli.config``), not each other nor the ``linli`` command.  Within
``geo/`` and within ``webapp/`` no modules import each other in a circle at module
level (an import inside a function runs later and is not a cycle of the layout).
"""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FACES = ("webapp", "scripts", "linli")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules(package: str) -> dict[str, Path]:
    return {_module_name(path): path for path in sorted((ROOT / package).rglob("*.py"))}


def _imports(path: Path, *, top_level_only: bool) -> set[str]:
    """Names of the modules ``path`` imports (absolute, relative ones resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    if top_level_only:  # with the imports under a module-level if/try (TYPE_CHECKING excluded)
        nodes = [n for stmt in tree.body for n in _module_level(stmt)]
    else:
        nodes = list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.add(module)
            # ``from geo import settings`` imports the module geo.settings
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def _module_level(stmt: ast.stmt) -> list[ast.stmt]:
    if isinstance(stmt, ast.If):
        test = ast.unparse(stmt.test)
        if "TYPE_CHECKING" in test:
            return []
        return [n for s in stmt.body + stmt.orelse for n in _module_level(s)]
    if isinstance(stmt, ast.Try):
        body = stmt.body + stmt.orelse + stmt.finalbody + [s for h in stmt.handlers for s in h.body]
        return [n for s in body for n in _module_level(s)]
    return [stmt]


def _cycles(package: str, *, top_level_only: bool = True) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    modules = _modules(package)
    graph = {
        name: sorted(m for m in _imports(path, top_level_only=top_level_only) if m in modules and m != name)
        for name, path in modules.items()
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in graph[node]:
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for name in graph:
        if name not in index:
            visit(name)
    return components


def test_geo_imports_no_face_and_no_web_library():
    forbidden = {"flask", "folium", "werkzeug", "jinja2", *FACES}
    offenders = [
        (name, imported)
        for name, path in _modules("geo").items()
        for imported in _imports(path, top_level_only=False)
        if imported.split(".")[0] in forbidden
    ]
    assert offenders == []


@pytest.mark.parametrize("face", ["webapp", "scripts"])
def test_the_faces_import_geo_and_not_each_other(face):
    # The linli command sits above both faces; only its configuration (linli.config,
    # the LINLI_* variables) is shared below it.
    other = ({"webapp", "scripts"} - {face}) | {"linli.cli", "linli.__main__"}
    imported = {m for path in _modules(face).values() for m in _imports(path, top_level_only=False)}
    assert any(m == "geo" or m.startswith("geo.") for m in imported)
    assert not {m for m in imported if any(m == o or m.startswith(o + ".") for o in other)}


def test_the_checker_sees_a_cycle(tmp_path, monkeypatch):
    # The cycle finder on a made-up package: a -> b -> a is found, c alone is not.
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg import b\n")
    (package / "b.py").write_text("import pkg.a\n\ndef f():\n    import pkg.c\n")
    (package / "c.py").write_text("def g():\n    from pkg import b\n")
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    assert _cycles("pkg") == [["pkg.a", "pkg.b"]]
    assert _cycles("pkg", top_level_only=False) == [["pkg.a", "pkg.b", "pkg.c"]]


@pytest.mark.parametrize("package", ["geo", "webapp"])
def test_no_import_cycles_at_module_level(package):
    assert _cycles(package) == []


@pytest.mark.parametrize("package", ["geo", "webapp"])
def test_no_import_cycles_hidden_in_functions(package):
    # An import moved into a function to dodge a cycle is still a circle of the design.
    assert _cycles(package, top_level_only=False) == []


def test_every_package_is_installed():
    # pyproject.toml lists the packages (data/ is mapped to geo.data): a new subpackage
    # left out of the list would be missing from an installed wheel.
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    on_disk = {_module_name(init) for package in ("geo", *FACES) for init in (ROOT / package).rglob("__init__.py")}
    assert set(config["packages"]) - {"geo.data"} == on_disk
    assert config["package-dir"] == {"geo.data": "data"}


def _requirement_name(line: str) -> str:
    return re.split(r"[\[<>=~!; ]", line.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_pyproject_dependencies_are_the_pinned_runtime_set():
    # Every package of requirements.txt is a dependency or an extra of pyproject.toml,
    # and the other way round: `make setup` and `pip install -e .[batch,postgis]` agree.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {_requirement_name(d) for d in project["dependencies"]}
    declared |= {_requirement_name(d) for extra in project["optional-dependencies"].values() for d in extra}
    lines = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    pinned = {_requirement_name(line) for line in lines if line.strip() and not line.startswith("#")}
    assert declared == pinned
