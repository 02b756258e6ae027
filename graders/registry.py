"""Which module grades which kind of question.

A kind module provides `Answer` (the pydantic model of its `answer` section),
`prepare(question, params, rng) -> dict` (variant data such as shuffled options or the
expected value), `grade(question, variant, answer) -> Grade` and
`reference_answer(question, variant) -> str` (an answer that must score 1.0).
Modules are imported lazily so that kind modules may import the question model.
"""
from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

_MODULES: dict[str, str] = {
    "choice": "graders.choice",
    "multi": "graders.choice",
    "numeric": "graders.numeric",
    "expression": "graders.expression",
    "matrix": "graders.matrix",
    "code": "graders.code",
    "sql": "graders.sql",
    "rubric": "graders.rubric",
}


class UnsupportedKind(LookupError):
    pass


def module_for(kind: str) -> ModuleType:
    name = _MODULES.get(kind)
    if name is None:
        raise UnsupportedKind(f"unknown question kind '{kind}'")
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            raise UnsupportedKind(f"question kind '{kind}' has no grader yet") from None
        raise


def answer_model(kind: str) -> Any:
    return module_for(kind).Answer


def supported_kinds() -> list[str]:
    out = []
    for kind in _MODULES:
        try:
            module_for(kind)
        except UnsupportedKind:
            continue
        out.append(kind)
    return out
