"""Every code example of the READMEs and docs pages runs as written, through Sybil.

The root ``conftest.py`` collects every Markdown file with :func:`examples`. What a page
may contain, and what each form means:

``python`` block
    Runs as written. The blocks of one page run in order in one namespace, the module
    ``app`` (``sys.modules["app"]``, its ``__file__`` in a fresh temporary directory that
    is also the working directory), as if a reader pasted each block into ``app.py``.
    A function whose body is only ``...`` fails the block: a view written so answers 500.

``<!-- invisible-code-block: python ... -->``
    Code that runs at that point but is not shown: the setup a block needs (a database
    file, a Redis key prefix) or the checks that the app answers what the page says.

``<!-- fragment: why -->`` before a ``python`` block
    The block is only compiled, not run: it is a piece of a larger program (a method
    body, a configuration excerpt). The reason is required.

``<!-- skip: next "why" -->`` before a block
    The block is not run and the test reports the reason (Sybil's skip). The reason is
    required.

``console`` block
    Each ``$`` command followed by output is run and its output compared with the page's:
    ``curl`` commands against the page's app through Flask's test client, ``flask``
    commands through its CLI runner. Every number on the page stands for any number, and
    a line ``...`` or ``…`` for any lines. Commands shown without output are not run. A
    command with output that is neither must be skipped with its reason.
"""

from __future__ import annotations

import ast
import contextvars
import logging
import os
import re
import shlex
import shutil
import sys
import tempfile
import types
import typing as t
from dataclasses import dataclass, field
from pathlib import Path

from sybil import Document, Example, Region, Sybil
from sybil.evaluators.python import PythonEvaluator, pad
from sybil.parsers.abstract.lexers import LexerCollection
from sybil.parsers.markdown.lexers import DirectiveInHTMLCommentLexer, FencedCodeBlockLexer
from sybil.parsers.myst import CodeBlockParser, SkipParser

if t.TYPE_CHECKING:
    from flask import Flask

MODULE = "app"
"""The name the examples of a page run under, as ``flask --app app`` would import them."""

NUMBER = re.compile(r"\d+(?:\.\d+)?")
ANY_LINES = ("...", "…")


def examples(**options: t.Any) -> Sybil:
    """The :class:`~sybil.Sybil` that runs every example of the pages it is given.

    :param options: passed to :class:`~sybil.Sybil`: ``path`` (absolute: Sybil would take it
        relative to this module), ``patterns``, ``excludes`` ...
    """
    _patch_sybil_item()
    return Sybil(
        parsers=[
            CodeBlockParser("python", evaluator=run_python),
            ReasonedSkipParser(),
            FragmentParser(),
            ConsoleParser(),
        ],
        setup=_enter_page,
        teardown=_leave_page,
        **options,
    )


# --- the page's sandbox --------------------------------------------------------------------


@dataclass
class _Saved:
    directory: Path
    cwd: str
    environ: dict[str, str]
    modules: set[str]
    module: types.ModuleType
    loggers: dict[str, tuple[int, list[logging.Handler], bool]] = field(default_factory=dict)
    engines: set[t.Any] = field(default_factory=set)
    # The page's blocks run in a context of their own: a ContextVar a block sets (a request
    # id left by a response nobody closed) stays in the page.
    context: contextvars.Context = field(default_factory=contextvars.Context)
    stop_tracking: t.Callable[[], None] = lambda: None


_pages: dict[int, _Saved] = {}


def _logger_states() -> dict[str, tuple[int, list[logging.Handler], bool]]:
    loggers: list[logging.Logger] = [logging.getLogger()]
    for logger in logging.Logger.manager.loggerDict.values():
        if isinstance(logger, logging.Logger):
            loggers.append(logger)
    root = loggers[0]
    return {
        "" if logger is root else logger.name: (
            logger.level,
            list(logger.handlers),
            logger.propagate,
        )
        for logger in loggers
    }


def _enter_page(namespace: dict[str, t.Any]) -> None:
    directory = Path(tempfile.mkdtemp(prefix="example-")).resolve()
    module = types.ModuleType(MODULE)
    module.__file__ = str(directory / f"{MODULE}.py")
    _pages[id(namespace)] = _Saved(
        directory=directory,
        cwd=os.getcwd(),
        environ=dict(os.environ),
        modules=set(sys.modules),
        module=module,
        loggers=_logger_states(),
    )
    _track_engines(_pages[id(namespace)])
    sys.modules[MODULE] = module
    namespace.update(__name__=MODULE, __file__=module.__file__)
    os.chdir(directory)


def _leave_page(namespace: dict[str, t.Any]) -> None:
    saved = _pages.pop(id(namespace))
    os.chdir(saved.cwd)
    os.environ.clear()
    os.environ.update(saved.environ)
    for name in set(sys.modules) - saved.modules:
        if _made_by_page(sys.modules[name], saved.directory):
            del sys.modules[name]
    for name, (_, handlers, _) in _logger_states().items():
        old_level, old_handlers, old_propagate = saved.loggers.get(name, (0, [], True))
        logger = logging.getLogger(name or None)
        for handler in handlers:
            if handler not in old_handlers:
                logger.removeHandler(handler)
                handler.close()
        logger.setLevel(old_level)
        logger.propagate = old_propagate
    for app in [value for value in namespace.values() if _is_flask(value)]:
        _close(app)
    saved.stop_tracking()
    for engine in saved.engines:
        engine.dispose()
    shutil.rmtree(saved.directory, ignore_errors=True)


def _track_engines(saved: _Saved) -> None:
    """Note every SQLAlchemy engine the page's examples connect, to dispose of them when
    the page ends. A page rebinds ``app`` and ``engine`` from block to block, and a pool
    left to the garbage collector closes its SQLite connections with a ResourceWarning,
    an error (``filterwarnings``) in whichever test happens to run then."""
    try:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine
    except ImportError:  # the pages of packages without SQLAlchemy
        return

    def connected(connection: t.Any) -> None:
        saved.engines.add(connection.engine)

    event.listen(Engine, "engine_connect", connected)
    saved.stop_tracking = lambda: event.remove(Engine, "engine_connect", connected)


def _made_by_page(module: types.ModuleType, directory: Path) -> bool:
    """Whether a module imported during a page is the page's own: a file of its directory,
    or a module object the page made (``sys.modules["myapp"] = ...``), known by holding
    what the page defined. Modules without a file are not all the page's: a namespace
    package such as ``flask_plug`` must keep its loaded submodules, and the modules
    Cython and cffi register (``_cython_3_*``, ``*.lib``) cannot be imported again."""
    path = getattr(module, "__file__", None)
    if path is not None:
        return Path(path).is_relative_to(directory)
    if module is sys.modules.get(MODULE):
        return True
    for value in list(vars(module).values()):
        try:
            if getattr(value, "__module__", None) == MODULE:
                return True
        except Exception:  # noqa: BLE001 - a proxy such as current_app, outside a request
            continue
    return False


def _is_flask(value: object) -> bool:
    flask = sys.modules.get("flask")
    return flask is not None and isinstance(value, flask.Flask)


def _close(app: Flask) -> None:
    """Dispose of what an example app holds open (SQLAlchemy engines keep SQLite files)."""
    for state in app.extensions.values():
        close = getattr(state, "close", None)
        if callable(close):
            try:
                close()
            except Exception:  # noqa: BLE001 - teardown of an example must not hide its result
                pass


# --- python blocks -------------------------------------------------------------------------

_python = PythonEvaluator(future_imports=())


def run_python(example: Example) -> str | None:
    """Run a ``python`` block in the page's module."""
    source = str(example.parsed)
    for function in _empty_functions(source):
        return (
            f"{function.name}() has only `...` for a body; a view written so answers 500."
            " Return something real, or mark the block <!-- fragment: why --> if it is only"
            " a piece of a program."
        )
    _in_page(example, _python, example)
    module = sys.modules.get(MODULE)
    if module is not None:
        # SQLAlchemy and typing resolve names through the module a class was defined in.
        module.__dict__.update(example.namespace)
    return None


R = t.TypeVar("R")


def _in_page(example: Example, function: t.Callable[..., R], *args: t.Any) -> R:
    saved = _pages.get(id(example.namespace))
    if saved is None:
        return function(*args)
    return saved.context.run(function, *args)


def _empty_functions(source: str) -> t.Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef) and any(
            isinstance(base, ast.Name) and base.id == "Protocol" for base in node.bases
        ):
            return  # a Protocol's methods are declarations
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if any(
            isinstance(d, ast.Name) and d.id in {"overload", "abstractmethod"}
            for d in node.decorator_list
        ):
            continue
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            if isinstance(body[0].value.value, str):
                body = body[1:]  # the docstring
        if len(body) == 1 and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and value.value is Ellipsis:
                yield node


# --- skip and fragment markers -------------------------------------------------------------


class ReasonedSkipParser(SkipParser):
    """Sybil's ``skip`` marker, with a reason required wherever a block is skipped."""

    def __call__(self, document: Document) -> t.Iterable[Region]:
        for region in super().__call__(document):
            action, reason = region.parsed
            if action in ("next", "start") and not reason:
                raise ValueError(
                    f"{document.path}: a skip marker without a reason; write it as"
                    ' <!-- skip: next "why this block cannot run" -->'
                )
            yield region


class FragmentParser:
    """``<!-- fragment: why -->``: the next ``python`` block is compiled, not run."""

    def __init__(self) -> None:
        self.lexers = LexerCollection([DirectiveInHTMLCommentLexer("fragment")])

    def __call__(self, document: Document) -> t.Iterable[Region]:
        for lexed in self.lexers(document):
            if not (lexed.lexemes.get("arguments") or "").strip():
                raise ValueError(
                    f"{document.path}: a fragment marker without a reason; write it as"
                    " <!-- fragment: what program this piece belongs to -->"
                )
            yield Region(lexed.start, lexed.end, None, self._install)

    def _install(self, example: Example) -> None:
        example.document.push_evaluator(_CompileNext(example.document))


class _CompileNext:
    def __init__(self, document: Document) -> None:
        self.document = document

    def __call__(self, example: Example) -> str | None:
        self.document.pop_evaluator(self)
        if example.region.evaluator is not run_python:
            return "a fragment marker must come right before a python block"
        source = pad(example.parsed, example.line + example.parsed.line_offset)
        compile(source, example.path, "exec", dont_inherit=True)
        return None


# --- console blocks ------------------------------------------------------------------------


@dataclass
class Command:
    line: int
    text: str
    output: list[str]


class ConsoleParser:
    """``console`` blocks: the commands that show output are run and their output checked."""

    def __init__(self) -> None:
        self.lexers = LexerCollection(
            [FencedCodeBlockLexer(language="console", mapping={"source": "source"})]
        )

    def __call__(self, document: Document) -> t.Iterable[Region]:
        for lexed in self.lexers(document):
            commands = parse_console(str(lexed.lexemes["source"]))
            if not commands:
                line = document.text.count("\n", 0, lexed.start) + 1
                raise ValueError(
                    f"{document.path}, line {line}: a console block without a `$` command;"
                    " show output alone in a ```text block"
                )
            shown = [command for command in commands if command.output]
            if shown:
                yield Region(lexed.start, lexed.end, shown, check_console)


def parse_console(source: str) -> list[Command]:
    commands: list[Command] = []
    continued = False
    for number, line in enumerate(source.splitlines()):
        if continued:
            commands[-1].text += "\n" + line
        elif line.startswith("$ "):
            commands.append(Command(number, line[2:], []))
        elif commands:
            commands[-1].output.append(line.rstrip())
        continued = line.endswith("\\") and bool(commands) and not commands[-1].output
    for command in commands:
        while command.output and not command.output[-1]:
            command.output.pop()
    return commands


def check_console(example: Example) -> str | None:
    failures = []
    for command in example.parsed:
        try:
            actual = _in_page(example, run_command, command.text, example.namespace)
        except (ValueError, AssertionError, KeyError) as error:
            failures.append(f"$ {command.text}\n--- cannot be checked: {error!r}")
            continue
        if not output_matches(command.output, actual):
            failures.append(
                f"$ {command.text}\n--- the page shows:\n"
                + "\n".join(command.output)
                + "\n--- the command printed:\n"
                + "\n".join(actual)
            )
    return "\n\n".join(failures) or None


def output_matches(expected: list[str], actual: list[str]) -> bool:
    parts = []
    for line in expected:
        if line.strip() in ANY_LINES:
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            pieces = NUMBER.split(line)
            parts.append(r"\d+(?:\.\d+)?".join(re.escape(piece) for piece in pieces) + r"\n")
    text = "".join(line.rstrip() + "\n" for line in actual)
    return re.fullmatch("".join(parts), text) is not None


def run_command(text: str, namespace: dict[str, t.Any]) -> list[str]:
    lexer = shlex.shlex(text.replace("\\\n", " "), posix=True, punctuation_chars="|")
    lexer.whitespace_split = True
    stages: list[list[str]] = [[]]
    for token in lexer:
        if token == "|":
            stages.append([])
        else:
            stages[-1].append(token)
    program, *args = stages[0]
    if program == "curl":
        lines = _curl(args, _page_app(namespace, None))
    elif program == "flask":
        lines = _flask(args, namespace)
    else:
        raise ValueError(
            f"cannot check the output of `{program}`: only curl and flask commands are run;"
            ' mark the block <!-- skip: next "why" --> or show no output'
        )
    for stage in stages[1:]:
        lines = _grep(stage, lines)
    return lines


def _page_app(namespace: dict[str, t.Any], target: str | None) -> Flask:
    """The app a command addresses: ``--app module:factory`` names a factory of the page,
    otherwise the page's ``app``, or what its ``create_app()`` returns."""
    factory = target.partition(":")[2].removesuffix("()") if target else ""
    if factory:
        app = namespace[factory]()
    elif _is_flask(namespace.get("app")):
        app = namespace["app"]
    else:
        app = namespace["create_app"]()
        namespace.setdefault("__console_apps__", []).append(app)
    return t.cast("Flask", app)


def _flask(args: list[str], namespace: dict[str, t.Any]) -> list[str]:
    target = None
    if args[:1] == ["--app"]:
        target, args = args[1], args[2:]
    app = _page_app(namespace, target)
    result = app.test_cli_runner().invoke(args=args)
    if result.exit_code != 0:
        raise AssertionError(
            f"flask {shlex.join(args)} exited {result.exit_code}:\n{result.output}"
        )
    return result.output.splitlines()


def _curl(args: list[str], app: Flask) -> list[str]:
    method = None
    headers: list[tuple[str, str]] = []
    data = None
    include = head = False
    url = None
    options = iter(args)
    for arg in options:
        if arg in ("-s", "-S", "-sS", "--silent"):
            continue
        if arg in ("-i", "-si", "-is", "--include"):
            include = True
        elif arg in ("-I", "-sI", "-Is", "--head"):
            head = True
        elif arg in ("-X", "--request"):
            method = next(options)
        elif arg in ("-H", "--header"):
            name, _, value = next(options).partition(":")
            headers.append((name.strip(), value.strip()))
        elif arg in ("-d", "--data", "--data-raw"):
            data = next(options)
        elif arg.startswith("-"):
            raise ValueError(f"curl option {arg} is not understood by the example checker")
        else:
            url = arg
    if url is None:
        raise ValueError("a curl command without a URL")
    path = "/" + url.split("://", 1)[-1].partition("/")[2]
    method = method or ("HEAD" if head else "POST" if data is not None else "GET")
    response = app.test_client().open(path, method=method, headers=headers, data=data)
    lines = []
    if include or head:
        lines.append(f"HTTP/1.1 {response.status}")
        lines.extend(f"{name}: {value}" for name, value in response.headers.items())
        if not head:
            lines.append("")
    if not head:
        lines.extend(response.get_data(as_text=True).splitlines())
    response.close()
    return lines


def _grep(args: list[str], lines: list[str]) -> list[str]:
    if not args or args[0] != "grep":
        raise ValueError(f"only `| grep` may follow a checked command, not `| {shlex.join(args)}`")
    flags = 0
    invert = False
    pattern = None
    for arg in args[1:]:
        if arg.startswith("-") and pattern is None:
            invert |= "v" in arg
            if "i" in arg:
                flags |= re.IGNORECASE
        else:
            pattern = arg
    if pattern is None:
        raise ValueError("grep without a pattern")
    # grep's basic and extended syntax agree with Python's for what the pages use.
    regex = re.compile(pattern.replace(r"\|", "|"), flags)
    return [line for line in lines if bool(regex.search(line)) != invert]


def _traceback_filter(item: t.Any, excinfo: t.Any) -> t.Any:
    """Sybil's pytest traceback filter, but an error raised outside an example's own frames
    (a warning made an error as a page's leftovers are collected) keeps its traceback
    instead of crashing pytest with an INTERNALERROR."""
    try:
        return _sybil_traceback_filter(item, excinfo)
    except IndexError:
        return excinfo.traceback


def _patch_sybil_item() -> None:
    from sybil.integration.pytest import SybilItem

    global _sybil_traceback_filter
    if SybilItem._traceback_filter is not _traceback_filter:
        _sybil_traceback_filter = SybilItem._traceback_filter
        SybilItem._traceback_filter = _traceback_filter  # type: ignore[method-assign,assignment]


_sybil_traceback_filter: t.Callable[[t.Any, t.Any], t.Any]


def keep_pages_in_order(items: list[t.Any]) -> None:
    """Put the examples of each page back together and in page order, wherever a plugin
    such as pytest-randomly moved them: a page's blocks build on each other, and its
    sandbox lives from its first example to its last."""
    from sybil.integration.pytest import SybilItem

    pages: dict[t.Any, list[t.Any]] = {}
    for item in items:
        if isinstance(item, SybilItem):
            pages.setdefault(item.parent, []).append(item)
    ordered = []
    for item in items:
        if not isinstance(item, SybilItem):
            ordered.append(item)
        elif item.parent in pages:
            ordered.extend(sorted(pages.pop(item.parent), key=lambda i: i.example.start))
    items[:] = ordered
