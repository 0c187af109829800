"""The pytest plugin ``apigrade.testing``: in-process grade and findings assertions."""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path

import pytest
from reportdata import demo_report

from apigrade.model import ScanReport
from apigrade.testing import assert_grade, assert_no_findings

pytest_plugins = ["pytester"]
TESTS = Path(__file__).resolve().parents[1]


@cache
def hardened_report() -> ScanReport:
    sys.path.insert(0, str(TESTS))
    from apigrade.testing import scan_app
    from apps.hardened import create_app

    return scan_app(create_app())


def test_misconfigured_demo_fails_with_a_readable_message() -> None:
    report = demo_report()
    with pytest.raises(AssertionError) as info:
        assert_grade(report, at_least="B")
    message = str(info.value)
    assert message.startswith(
        f"apigrade: grade {report.grade} (score {report.score}/100) is below B"
    )
    lines = message.splitlines()
    assert any(line.strip().startswith("HIGH") for line in lines)
    assert "files.dotenv" in message and "GET http://testserver/static/.env" in message
    assert "fix: Remove the file from every served directory" in message
    # worst first
    first = next(line for line in lines[1:] if line.startswith("  ") and line[2] != " ")
    assert (
        first.strip().split()[0]
        == max(report.findings, key=lambda f: f.severity.rank).severity.value.upper()
    )
    with pytest.raises(AssertionError, match=r"findings at or above high \(grade F"):
        assert_no_findings(report, at_or_above="high")


def test_hardened_app_passes() -> None:
    report = hardened_report()
    assert assert_grade(report, at_least="A") is report
    assert assert_no_findings(report, at_or_above="medium") is report


def test_scans_an_app_object_directly() -> None:
    from apigrade.demo.app import create_app

    with pytest.raises(AssertionError, match="Content-Security-Policy is missing"):
        assert_no_findings(create_app(), at_or_above="low", only=["headers.missing-csp"])


def test_bad_arguments() -> None:
    report = demo_report()
    with pytest.raises(ValueError, match="at_least"):
        assert_grade(report, at_least="E")
    with pytest.raises(ValueError, match="unknown severity"):
        assert_no_findings(report, at_or_above="urgent")
    with pytest.raises(TypeError, match="pass the app"):
        assert_grade("http://127.0.0.1:5000/")
    with pytest.raises(TypeError, match="need an app"):
        assert_grade(report, only=["x"])


def test_plugin_loads_through_its_entry_point(pytester: pytest.Pytester) -> None:
    pytester.syspathinsert(TESTS)
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(
        test_user_app="""
        import pytest
        from apps.hardened import create_app as hardened
        from apigrade.demo.app import create_app as misconfigured
        from apigrade.testing import assert_grade

        def test_hardened(apigrade_scan):  # the fixture comes from the plugin alone
            report = apigrade_scan(hardened(), only=["headers.missing-csp"])
            assert_grade(report, at_least="A")

        def test_misconfigured(apigrade_scan):
            assert_grade(apigrade_scan(misconfigured(), only=["files.dotenv"]), at_least="B")
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "--trace-config")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*registered third-party plugins:*", "*apigrade-*"])
    result.stdout.fnmatch_lines(["*AssertionError: apigrade: grade * is below B*",
                                 "*HIGH*Environment file (.env)*", "*fix: *"])  # fmt: skip
    # Without the plugin the fixture does not exist: it really came from the entry point.
    without = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:apigrade")
    without.stdout.fnmatch_lines(["*fixture 'apigrade_scan' not found*"])
