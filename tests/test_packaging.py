"""The wheel's contents as pyproject declares them (the build itself runs in .ci/wheel-check):
every code directory is a declared package, and the data the app reads is mapped in."""
from __future__ import annotations

import tomllib
from pathlib import Path

from interview import bank
from tests.conftest import REPO


def _config() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_code_directory_is_a_declared_package() -> None:
    declared = set(_config()["packages"])
    for root in ("interview", "graders"):
        for init in (REPO / root).rglob("*.py"):
            rel = init.parent.relative_to(REPO)
            if "__pycache__" in rel.parts:
                continue
            assert ".".join(rel.parts) in declared, f"{rel} holds Python files but is not in pyproject's packages"


def test_data_directories_are_mapped_into_the_package() -> None:
    cfg = _config()
    assert cfg["package-dir"] == {"interview.question_bank": "question_bank", "interview.templates": "templates"}
    data = cfg["package-data"]
    assert "**/*.yaml" in data["interview.question_bank"] and "**/*.html" in data["interview.templates"]
    assert data["interview.static"] == ["**/*"] and "script.py.mako" in data["interview.migrations"]


def test_bundled_finds_the_checkout_layout() -> None:
    assert bank.bundled("question_bank") == REPO / "question_bank"
    assert bank.bundled("templates") == REPO / "templates"
    assert bank.default_bank_path() == REPO / "question_bank"


def test_bundled_prefers_data_inside_the_installed_package(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """What a wheel install looks like: interview/question_bank beside the modules."""
    import importlib.resources

    (tmp_path / "question_bank").mkdir()
    monkeypatch.setattr(importlib.resources, "files", lambda _pkg: tmp_path)
    assert bank.bundled("question_bank") == tmp_path / "question_bank"
    assert bank.bundled("templates") == REPO / "templates"  # not there: the checkout's
