"""Every package has the house shape: settings.py, _state.py, its WSGI middleware in
middleware.py, no import cycles, and the helpers the packages may not share by import
(they never import each other) kept as identical copies.

Read from the sources with :mod:`ast`, so a failure names the file and line.
"""

from __future__ import annotations

import ast
import collections
import importlib
import typing as t
from pathlib import Path

import pytest
from flask import Flask

ROOT = Path(__file__).parent.parent
PACKAGES = ["apidocs", "auth", "cors", "ratelimit", "reqlog", "stats", "timer"]
# The packages that need the blueprint names of an endpoint.
BLUEPRINT_NAMES_USERS = ["apidocs", "cors", "ratelimit"]


def modules(package: str, root: Path = ROOT) -> dict[str, Path]:
    """``{"extension": path, "__init__": path, ...}`` of one package."""
    source = root / "packages" / package / "src" / "flask_plug" / package
    return {path.stem: path for path in sorted(source.glob("*.py"))}


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text("utf-8"), str(path))


def where(path: Path, node: ast.AST | None = None) -> str:
    relative = path.relative_to(ROOT)
    return f"{relative}:{node.lineno}" if isinstance(node, ast.stmt | ast.expr) else str(relative)


def is_type_checking(test: ast.expr) -> bool:
    """``TYPE_CHECKING``, ``t.TYPE_CHECKING`` or ``typing.TYPE_CHECKING``."""
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def walk_at_run_time(node: ast.AST) -> t.Iterator[ast.AST]:
    """Every node under ``node`` at any depth (functions included), but the bodies of
    ``if TYPE_CHECKING:`` blocks, which never run."""
    for child in ast.iter_child_nodes(node):
        yield child
        if isinstance(child, ast.If) and is_type_checking(child.test):
            for other in child.orelse:
                yield other
                yield from walk_at_run_time(other)
            continue
        yield from walk_at_run_time(child)


def enclosing_functions(tree: ast.Module) -> dict[ast.AST, str]:
    """The name of the innermost function each node is in; module-level nodes are absent."""
    found: dict[ast.AST, str] = {}

    def visit(node: ast.AST, function: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            inner = function
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                inner = child.name
            if inner is not None:
                found[child] = inner
            visit(child, inner)

    visit(tree, None)
    return found


# -- settings.py, _state.py, middleware.py ---------------------------------------------


@pytest.mark.parametrize("package", PACKAGES)
def test_settings_and_state_modules(package: str) -> None:
    found = modules(package)
    assert "settings" in found, f"{package} has no settings.py"
    assert "_state" in found, f"{package} has no _state.py"
    tree = parse(found["_state"])
    values = {
        target.id: node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    key = values.get("EXTENSION_KEY")
    assert isinstance(key, ast.Constant) and key.value == f"flask-plug-{package}", (
        f"{where(found['_state'])} must set EXTENSION_KEY = 'flask-plug-{package}'"
    )
    functions = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert "get_state" in functions, f"{where(found['_state'])} has no get_state()"


@pytest.mark.parametrize("package", PACKAGES)
def test_get_state_on_an_app_without_the_extension(package: str) -> None:
    state = importlib.import_module(f"flask_plug.{package}._state")
    with pytest.raises(RuntimeError, match=f"flask-plug-{package}|init_app"):
        state.get_state(Flask(__name__))


def is_wsgi_middleware(node: ast.ClassDef) -> bool:
    """Whether the class defines ``__call__(self, environ, start_response)``."""
    for item in node.body:
        if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and item.name == "__call__":
            names = [arg.arg for arg in item.args.posonlyargs + item.args.args]
            return names[1:3] == ["environ", "start_response"]
    return False


@pytest.mark.parametrize("package", PACKAGES)
def test_wsgi_middleware_lives_in_middleware_py(package: str) -> None:
    misplaced = [
        f"{where(path, node)} {node.name}"
        for name, path in modules(package).items()
        if name != "middleware"
        for node in ast.walk(parse(path))
        if isinstance(node, ast.ClassDef) and is_wsgi_middleware(node)
    ]
    assert misplaced == [], f"WSGI middleware outside {package}/middleware.py: {misplaced}"


# -- import cycles -------------------------------------------------------------------


class Import(t.NamedTuple):
    module: str
    """The sibling module imported: ``"extension"``, or ``"__init__"`` for a name of the
    package itself."""
    line: int
    lazy: bool
    """Inside a function: imported on first call, not at import time."""


def sibling_imports(package: str, path: Path, siblings: set[str]) -> list[Import]:
    """The modules of ``package`` that the module at ``path`` imports when it runs: at
    module level or inside functions, relative (``from .x import y``, ``from . import x``)
    or absolute (``flask_plug.<package>.x``); not under ``if TYPE_CHECKING:``."""
    absolute = f"flask_plug.{package}"
    tree = parse(path)
    functions = enclosing_functions(tree)

    def module_of(dotted: str) -> str:
        """``"x"`` or ``"x.y"`` (after the package) as a module of the package."""
        head = dotted.partition(".")[0]
        return head if head in siblings else "__init__"

    found = []
    for node in walk_at_run_time(tree):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:  # from .x import y
                names = [node.module]
            elif node.level == 1 or node.module == absolute:  # from . import x
                names = [alias.name for alias in node.names]
            elif node.level == 0 and node.module and node.module.startswith(absolute + "."):
                names = [node.module.removeprefix(absolute + ".")]
        elif isinstance(node, ast.Import):
            names = [
                alias.name.removeprefix(absolute + ".")
                for alias in node.names
                if alias.name.startswith(absolute + ".")
            ]
        for name in names:
            module = module_of(name)
            if module != path.stem:
                found.append(Import(module, node.lineno, node in functions))
    return found


def import_cycles(package: str, root: Path = ROOT) -> list[str]:
    """Each import cycle between the modules of ``package``, described with its lines."""
    paths = modules(package, root)
    graph = {name: sibling_imports(package, path, set(paths)) for name, path in paths.items()}
    cycles: list[str] = []
    seen: set[frozenset[str]] = set()
    done: set[str] = set()

    def describe(chain: list[tuple[str, Import]]) -> str:
        steps = [
            f"{module}.py:{edge.line}{' (in a function)' if edge.lazy else ''} -> "
            for module, edge in chain
        ]
        return "".join(steps) + f"{chain[0][0]}.py"

    def visit(module: str, chain: list[tuple[str, Import]]) -> None:
        on_path = [step[0] for step in chain]
        for edge in graph[module]:
            if edge.module in on_path or edge.module == module:
                start = on_path.index(edge.module) if edge.module in on_path else len(chain)
                cycle = [*chain[start:], (module, edge)]
                key = frozenset(step[0] for step in cycle)
                if key not in seen:
                    seen.add(key)
                    cycles.append(describe(cycle))
            elif edge.module not in done:
                visit(edge.module, [*chain, (module, edge)])
        done.add(module)

    for name in sorted(graph):
        if name not in done:
            visit(name, [])
    return cycles


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_cycles(package: str) -> None:
    cycles = import_cycles(package)
    assert cycles == [], f"import cycles in flask_plug.{package}:\n  " + "\n  ".join(cycles)


def test_the_cycle_finder_sees_lazy_imports_and_skips_type_checking(tmp_path: Path) -> None:
    """The checker itself, on a package made for it."""
    package_dir = tmp_path / "packages" / "demo" / "src" / "flask_plug" / "demo"
    package_dir.mkdir(parents=True)
    (package_dir / "__init__.py").write_text("from .a import A\n")
    (package_dir / "a.py").write_text("from . import b\nA = 1\n")
    (package_dir / "b.py").write_text(
        "import typing as t\nif t.TYPE_CHECKING:\n    from .a import A\n"
        "def f():\n    from flask_plug.demo.c import C\n"
    )
    (package_dir / "c.py").write_text("from flask_plug.demo import a\nC = 1\n")
    assert import_cycles("demo", tmp_path) == [
        "a.py:1 -> b.py:5 (in a function) -> c.py:1 -> a.py",
    ]
    (package_dir / "c.py").write_text("C = 1\n")
    assert import_cycles("demo", tmp_path) == []


# -- copies that stay copies ---------------------------------------------------------


def module_level(
    tree: ast.Module, name: str
) -> list[ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef | ast.Assign]:
    """The module-level class, function or assignment named ``name``."""
    found: list[ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef | ast.Assign] = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            if node.name == name:
                found.append(node)
        elif isinstance(node, ast.Assign):
            if any(isinstance(target, ast.Name) and target.id == name for target in node.targets):
                found.append(node)
    return found


def copies(name: str) -> dict[str, str]:
    """``{"packages/cors/src/.../settings.py:12": source}`` of every module-level
    definition called ``name`` in every package."""
    found = {}
    for package in PACKAGES:
        for path in modules(package).values():
            text = path.read_text("utf-8")
            for node in module_level(ast.parse(text), name):
                segment = ast.get_source_segment(text, node)
                assert segment is not None
                found[where(path, node)] = segment
    return found


def assert_identical(name: str, found: dict[str, str]) -> None:
    """Every copy of ``name`` is the same text; the odd ones out are named."""
    texts = collections.Counter(found.values())
    if len(texts) <= 1:
        return
    reference = texts.most_common(1)[0][0]
    same = sorted(place for place, text in found.items() if text == reference)
    differ = sorted(place for place, text in found.items() if text != reference)
    pytest.fail(f"the copies of {name} differ: {differ} differ from {same}")


def packages_of(places: t.Iterable[str]) -> list[str]:
    return sorted({place.split("/")[1] for place in places})


def test_config_class_is_one_text_in_every_settings_py() -> None:
    found = copies("_Config")
    in_settings = {place for place in found if place.rpartition(":")[0].endswith("/settings.py")}
    missing = sorted(set(PACKAGES) - set(packages_of(in_settings)))
    assert missing == [], f"_Config missing from the settings.py of: {missing}"
    assert_identical("_Config", found)


def test_token_pattern_is_one_line_once_per_package() -> None:
    found = copies("_TOKEN")
    per_package = collections.Counter(place.split("/")[1] for place in found)
    assert [p for p, n in per_package.items() if n > 1] == [], f"_TOKEN more than once: {found}"
    assert_identical("_TOKEN", found)
    for place, text in found.items():
        assert text == """_TOKEN = re.compile(r"[!#$%&'*+\\-.^_`|~0-9A-Za-z]+")""", place


def test_blueprint_names_is_one_text() -> None:
    found = copies("_blueprint_names")
    assert packages_of(found) == BLUEPRINT_NAMES_USERS
    assert_identical("_blueprint_names", found)


def reads_of_view_metadata(package: str) -> list[tuple[Path, ast.AST, str | None]]:
    """Each ``getattr(x, "__flask_plug__", ...)`` and ``x.__flask_plug__`` read in the
    package, with the module-level function it is in."""
    found = []
    for path in modules(package).values():
        tree = parse(path)
        functions = {
            node: top.name
            for top in tree.body
            if isinstance(top, ast.FunctionDef)
            for node in ast.walk(top)
        }
        for node in ast.walk(tree):
            is_getattr = (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "getattr"
                and any(
                    isinstance(a, ast.Constant) and a.value == "__flask_plug__" for a in node.args
                )
            )
            is_read = (
                isinstance(node, ast.Attribute)
                and node.attr == "__flask_plug__"
                and isinstance(node.ctx, ast.Load)
            )
            if is_getattr or is_read:
                found.append((path, node, functions.get(node)))
    return found


def test_view_metadata_is_read_through_one_metadata_function() -> None:
    outside = [
        where(path, node)
        for package in PACKAGES
        for path, node, function in reads_of_view_metadata(package)
        if function != "_metadata"
    ]
    assert outside == [], f"__flask_plug__ read outside a module-level _metadata(): {outside}"
    readers = {
        package
        for package in PACKAGES
        for _, _, function in reads_of_view_metadata(package)
        if function == "_metadata"
    }
    found = copies("_metadata")
    assert packages_of(found) == sorted(readers)
    assert_identical("_metadata", found)


@pytest.mark.parametrize("package", PACKAGES)
def test_view_metadata_writers_replace_the_dict_under_their_own_key(package: str) -> None:
    """``target.__flask_plug__ = {**..., "<package>": ...}``: a new dict, and no other
    package's key."""
    wrong = []
    for path in modules(package).values():
        for node in ast.walk(parse(path)):
            if not isinstance(node, ast.Assign | ast.AugAssign):
                continue
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if not any(
                isinstance(target, ast.Attribute) and target.attr == "__flask_plug__"
                for target in targets
            ):
                continue
            keys = [
                key.value if isinstance(key, ast.Constant) else ast.unparse(key)
                for key in getattr(node.value, "keys", [])
                if key is not None  # None: a ** entry, the other packages' keys
            ]
            if not isinstance(node.value, ast.Dict) or keys != [package]:
                wrong.append(where(path, node))
    assert wrong == []


@pytest.mark.parametrize("proxy", ["current_app", "request"])
@pytest.mark.parametrize("package", PACKAGES)
def test_one_helper_unwraps_each_proxy(package: str, proxy: str) -> None:
    """``<proxy>._get_current_object()`` (and its ``type: ignore``) once per package."""
    calls = [
        where(path, node)
        for path in modules(package).values()
        for node in ast.walk(parse(path))
        if isinstance(node, ast.Attribute)
        and node.attr == "_get_current_object"
        and isinstance(node.value, ast.Name)
        and node.value.id == proxy
    ]
    assert len(calls) <= 1, calls
