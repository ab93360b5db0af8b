"""The example runner (flask_plug_testing.examples) on pages written for the purpose: what
runs, what only compiles, what is skipped, and that a wrong page fails."""

from __future__ import annotations

import os
import textwrap

import pytest

pytest_plugins = ["pytester"]

FENCE = "```"
CONFTEST = """
from pathlib import Path

import pytest

from flask_plug_testing.examples import examples, keep_pages_in_order

pytest_collect_file = examples(path=str(Path(__file__).parent), patterns=["*.md"]).pytest()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    keep_pages_in_order(items)
"""


@pytest.fixture
def page(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST)
    return pytester


def write(pytester: pytest.Pytester, text: str, name: str = "page") -> None:
    pytester.makefile(".md", **{name: textwrap.dedent(text).replace("'''", FENCE)})


APP = """
'''python
from flask import Flask

app = Flask(__name__)


@app.get("/hello")
def hello():
    return {"hello": "world"}


@app.cli.command("greet")
def greet():
    print("hello, 3 worlds")
'''
"""


def test_blocks_of_a_page_run_in_order_in_one_namespace(page: pytest.Pytester) -> None:
    write(
        page,
        APP
        + """
        <!-- invisible-code-block: python
        assert app.test_client().get("/hello").json == {"hello": "world"}
        -->
        """,
    )
    result = page.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=2)


def test_the_order_holds_when_tests_are_shuffled(page: pytest.Pytester) -> None:
    blocks = "".join(f"\n'''python\nsteps.append({n})\n'''\n" for n in range(1, 8))
    write(
        page,
        "'''python\nsteps = []\n'''\n" + blocks + "\n'''python\nassert steps == "
        "list(range(1, 8)), steps\n'''\n",
    )
    for seed in ("1", "2", "3"):
        result = page.runpytest(
            "-p", "randomly", "-p", "no:cacheprovider", f"--randomly-seed={seed}"
        )
        result.assert_outcomes(passed=9)


def test_a_failing_block_fails(page: pytest.Pytester) -> None:
    write(page, "'''python\nraise RuntimeError('the example is wrong')\n'''\n")
    result = page.runpytest("-p", "no:randomly")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*RuntimeError: the example is wrong*"])


def test_a_view_with_an_ellipsis_body_fails(page: pytest.Pytester) -> None:
    write(
        page,
        """
        '''python
        from flask import Flask

        app = Flask(__name__)


        @app.get("/")
        def index():
            \"\"\"The home page.\"\"\"
            ...
        '''
        """,
    )
    result = page.runpytest("-p", "no:randomly")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*index() has only `...` for a body*"])


def test_a_fragment_is_compiled_not_run(page: pytest.Pytester) -> None:
    write(
        page,
        """
        <!-- fragment: a method of the extension class above -->
        '''python
        raise RuntimeError("never run")
        '''

        <!-- fragment: a broken excerpt -->
        '''python
        def broken(:
        '''
        """,
    )
    result = page.runpytest("-p", "no:randomly")
    # The markers themselves count as passed examples.
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["*page.md line=7*", "*SyntaxError*"])


@pytest.mark.parametrize("marker", ["<!-- fragment: -->", "<!-- skip: next -->"])
def test_a_marker_without_a_reason_is_refused(page: pytest.Pytester, marker: str) -> None:
    write(page, f"{marker}\n'''python\nx = 1\n'''\n")
    result = page.runpytest("-p", "no:randomly")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*without a reason*"])


def test_a_skipped_block_reports_its_reason(page: pytest.Pytester) -> None:
    write(page, "<!-- skip: next \"needs a mail server\" -->\n'''python\nraise SystemExit\n'''\n")
    result = page.runpytest("-p", "no:randomly", "-rs")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*needs a mail server*"])


def test_console_output_of_flask_and_curl_is_checked(page: pytest.Pytester) -> None:
    write(
        page,
        APP
        + """
        '''console
        $ flask --app app greet
        hello, 12 worlds
        $ curl -si http://127.0.0.1:5000/hello | grep -i -E '^HTTP|^content-type'
        HTTP/1.1 200 OK
        Content-Type: application/json
        $ pip install flask-plug-timer
        '''
        """,
    )
    page.runpytest("-p", "no:randomly").assert_outcomes(passed=2)


def test_console_output_that_differs_fails(page: pytest.Pytester) -> None:
    write(
        page,
        APP
        + """
        '''console
        $ curl -s localhost:5000/hello
        {"hello": "moon"}
        '''
        """,
    )
    result = page.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*the page shows:*", '*"moon"*', "*the command printed:*"])


def test_console_output_of_other_commands_needs_a_skip(page: pytest.Pytester) -> None:
    write(page, "'''console\n$ python app.py\nserving\n'''\n")
    result = page.runpytest("-p", "no:randomly")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*cannot check the output of `python`*"])


def test_a_console_block_without_commands_is_refused(page: pytest.Pytester) -> None:
    write(page, "'''console\nServer-Timing: app;dur=0.4\n'''\n")
    result = page.runpytest("-p", "no:randomly")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*show output alone in a ```text block*"])


def test_each_page_runs_in_a_directory_and_environment_of_its_own(
    page: pytest.Pytester,
) -> None:
    block = """
    '''python
    import os
    from pathlib import Path

    assert "EXAMPLE_SECRET" not in os.environ
    assert not Path("written.txt").exists()
    assert Path(__file__).parent == Path.cwd()
    os.environ["EXAMPLE_SECRET"] = "set by a page"
    Path("written.txt").write_text("a page's file")
    '''
    """
    write(page, block, name="first")
    write(page, block, name="second")
    cwd = os.getcwd()
    page.runpytest_inprocess("-p", "no:randomly").assert_outcomes(passed=2)
    assert "EXAMPLE_SECRET" not in os.environ
    assert os.getcwd() == cwd


def test_an_error_raised_after_a_block_is_reported_not_an_internal_error(
    page: pytest.Pytester,
) -> None:
    write(
        page,
        """
        '''python
        class Leaky:
            def __del__(self):
                raise RuntimeError("left behind by the page")


        Leaky()
        '''
        """,
    )
    result = page.runpytest("-p", "no:randomly", "-W", "error")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*left behind by the page*"])
    assert "INTERNALERROR" not in result.stdout.str()


def test_a_namespace_package_a_page_imported_first_stays_whole(page: pytest.Pytester) -> None:
    # In a fresh process, the first page imports flask_plug (a namespace package, with no
    # __file__) and flask_plug.timer; the next page must find the one in the other.
    block = """
    '''python
    import flask_plug.timer

    assert flask_plug.timer.Timer
    '''
    """
    write(page, block, name="first")
    write(page, block, name="second")
    page.runpytest_subprocess("-p", "no:randomly").assert_outcomes(passed=2)


def test_a_module_a_page_registers_is_gone_after_the_page(page: pytest.Pytester) -> None:
    write(
        page,
        """
        '''python
        import sys
        import types

        extensions = types.ModuleType("myapp.extensions")


        def make():
            return "made"


        extensions.make = make
        sys.modules["myapp.extensions"] = extensions
        sys.modules["myapp"] = sys.modules["app"]
        '''
        """,
        name="first",
    )
    write(
        page,
        """
        '''python
        import sys

        assert "myapp" not in sys.modules and "myapp.extensions" not in sys.modules
        '''
        """,
        name="second",
    )
    page.runpytest_subprocess("-p", "no:randomly").assert_outcomes(passed=2)


def test_a_context_variable_a_page_sets_stays_in_the_page(page: pytest.Pytester) -> None:
    page.makepyfile(shared="import contextvars\nvalue = contextvars.ContextVar('value')\n")
    first = """
    '''python
    import shared

    shared.value.set("first page")
    '''

    '''python
    assert shared.value.get() == "first page"
    '''
    """
    write(page, first, name="first")
    write(
        page,
        "'''python\nimport shared\n\nassert shared.value.get(None) is None\n'''\n",
        name="second",
    )
    page.runpytest_subprocess("-p", "no:randomly").assert_outcomes(passed=3)
