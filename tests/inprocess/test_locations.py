"""Source locations: the project root, handler lines, and which assignment of a setting is
the one in force (apigrade/inprocess/locations.py)."""

from __future__ import annotations

import functools
from pathlib import Path

from greyapps import ROOT

from apigrade.inprocess.locations import Locator, assignments, project_root


def test_project_root_is_the_nearest_marked_folder(tmp_path: Path) -> None:
    (tmp_path / "repo" / "pkg" / "sub").mkdir(parents=True)
    (tmp_path / "repo" / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    assert project_root(tmp_path / "repo" / "pkg" / "sub") == tmp_path / "repo"
    assert project_root(Path(__file__).parent) == ROOT


def test_assignments_of_every_form(tmp_path: Path) -> None:
    src = tmp_path / "conf.py"
    src.write_text(
        "import os\n"
        "DEBUG = os.environ.get('DEBUG') == '1'\n"
        "app.config['SECRET_KEY'] = 'changeme'\n"
        "app.config.update(\n    TESTING=True,\n)\n"
        "api = FastAPI(debug=True)\n"
        "DEBUG: bool = False\n"
    )
    assert [line for line, _ in assignments(str(src), "DEBUG")] == [2, 8]
    assert assignments(str(src), "SECRET_KEY") == [(3, "changeme")]
    assert assignments(str(src), "TESTING") == [(5, True)]
    assert assignments(str(src), "debug") == [(7, True)]
    assert assignments(str(src), "MISSING") == []
    (tmp_path / "broken.py").write_text("def (:\n")
    assert assignments(str(tmp_path / "broken.py"), "DEBUG") == []


def test_the_live_value_picks_the_assignment(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    dev, prod = tmp_path / "dev.py", tmp_path / "prod.py"
    dev.write_text("DEBUG = True\nLIMIT = 10 * 1024\n")
    prod.write_text("X = 1\nDEBUG = False\n")
    loc = Locator(tmp_path)
    found = loc.of_setting([prod, dev], "DEBUG", True)
    assert found is not None and (found.path, found.line) == ("dev.py", 1)
    found = loc.of_setting([prod, dev], "DEBUG", False)
    assert found is not None and (found.path, found.line) == ("prod.py", 2)
    assert loc.of_setting([prod], "DEBUG", True) is None  # a literal of another value
    computed = loc.of_setting([dev], "LIMIT", 10240)  # not a literal: a sure file counts
    assert computed is not None and computed.line == 2
    assert loc.of_setting([], "LIMIT", 10240, guessed=[dev]) is None  # a guessed one does not


def test_handlers_through_decorators_and_outside_the_project(tmp_path: Path) -> None:
    def deco(fn):  # type: ignore[no-untyped-def]
        @functools.wraps(fn)
        def inner(*a, **k):  # type: ignore[no-untyped-def]
            return fn(*a, **k)

        return inner

    @deco
    def view() -> str:
        return "x"

    loc = Locator(ROOT)
    where = loc.of_callable(view)
    assert where is not None and where.path == "tests/inprocess/test_locations.py"
    text = (ROOT / where.path).read_text().splitlines()[where.line - 1]
    assert text.strip() == "@deco"
    assert loc.of_callable(functools.partial) is None  # no Python source
    import flask

    assert loc.of_callable(flask.Flask.__call__) is None  # an installed package
    assert Locator(tmp_path).of_callable(view) is None  # outside that root


def test_flask_config_from_a_pyfile_in_the_instance_folder(tmp_path: Path) -> None:
    from flask import Flask

    from apigrade.inprocess.config_audit import audit

    (tmp_path / ".git").mkdir()
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "settings.py").write_text("import os\n\nDEBUG = True\nSECRET_KEY = 'dev'\n")
    app = Flask("grey_pyfile_app", instance_path=str(instance), root_path=str(tmp_path),
                instance_relative_config=True)  # fmt: skip
    app.config.from_pyfile("settings.py")
    result = audit(app)
    assert result is not None
    loc = Locator(tmp_path)
    debug = loc.of_setting(result.files, "DEBUG", result.value("DEBUG"), result.guessed)
    assert debug is not None and (debug.path, debug.line) == ("instance/settings.py", 3)
