"""The architecture's arrows point one way, and every module stays small enough to read.

`reports/` is the pure engine: plain data in, numbers and documents out, so it imports no web
framework, database layer or application code. `forms/` validates what it is given: choices and
limits come from the caller, so it imports no database layer or application code. Only the entry
points (wsgi.py, the console script) reach into `survey_app/__init__`. These tests read the source
(every import, also those inside functions), so a rule broken anywhere fails here.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: Packages whose modules these rules cover, and the folders left out of them.
CHECKED = ("survey_app", "forms", "reports", "bench")
NOT_CHECKED = ("migrations",)
#: Modules that may use what survey_app/__init__ defines: they start the application.
ENTRY_POINTS = {Path("wsgi.py"), Path("survey_app/cli/__init__.py")}
MAX_MODULE_LINES = 600


def python_files(*packages: str) -> Iterator[Path]:
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            if not any(part in NOT_CHECKED for part in path.relative_to(ROOT).parts):
                yield path


def imported_modules(path: Path) -> Iterator[tuple[int, str, tuple[str, ...]]]:
    """(line, module, names) for every import in `path`, at any depth."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, ()
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module, tuple(alias.name for alias in node.names)


def top_package(module: str) -> str:
    return module.split(".", 1)[0]


def breaches(packages: tuple[str, ...], forbidden: set[str]) -> list[str]:
    found = []
    for path in python_files(*packages):
        for line, module, _names in imported_modules(path):
            if top_package(module) in forbidden:
                found.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return found


def test_reports_is_pure() -> None:
    """reports/ imports no application code, web framework or database layer."""
    forbidden = {"survey_app", "flask", "flask_wtf", "flask_login", "werkzeug"}
    forbidden |= {"sqlmodel", "sqlalchemy", "psycopg", "forms"}
    assert breaches(("reports",), forbidden) == []


def test_forms_run_no_query() -> None:
    """forms/ imports no application code or database layer: the caller passes choices and
    limits, and checks anything that needs the database."""
    assert breaches(("forms",), {"survey_app", "sqlmodel", "sqlalchemy", "psycopg"}) == []


def _submodules(package: Path) -> set[str]:
    return {p.stem for p in package.glob("*.py")} | {
        p.name for p in package.iterdir() if (p / "__init__.py").exists()
    }


def test_only_entry_points_use_the_application_package() -> None:
    """Nothing but wsgi.py and the console script imports names from survey_app/__init__
    (create_app, __version__): everything else imports the module it needs."""
    submodules = _submodules(ROOT / "survey_app")
    found = []
    for path in [*python_files("survey_app", "forms", "reports"), ROOT / "wsgi.py"]:
        relative = path.relative_to(ROOT)
        if relative in ENTRY_POINTS:
            continue
        for line, module, names in imported_modules(path):
            if module == "survey_app" and (not names or set(names) - submodules):
                found.append(f"{relative}:{line} imports {names or module} from survey_app")
    assert found == []


@pytest.mark.parametrize("package", CHECKED)
def test_modules_stay_under_the_size_limit(package: str) -> None:
    """No module outside migrations and tests is over 600 lines."""
    long = [
        f"{path.relative_to(ROOT)}: {lines} lines"
        for path in python_files(package)
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    ]
    assert long == []


def test_the_rules_see_a_breach(tmp_path: Path) -> None:
    """The import reader finds imports inside functions too, so a lazy import cannot hide."""
    module = tmp_path / "example.py"
    module.write_text("def f():\n    from sqlmodel import Session\n    import flask\n")
    assert [(m, n) for _, m, n in imported_modules(module)] == [
        ("sqlmodel", ("Session",)),
        ("flask", ()),
    ]
