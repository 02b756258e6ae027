"""Checks of a question's wording that no grade can catch, run by `interview validate`.

Each check takes one loaded question and returns `Problem`s; `lint_question` runs them all.
They are kept apart from the loader and the per-seed checks of `interview.validate` because
each is a separate class of defect found in review (issue 16).
"""
from __future__ import annotations

import re

from graders import variants
from interview.bank import LoadedQuestion, Problem

# A parameter's name in braces right after a word that is not a LaTeX command (`ab{k}`, but
# not `\mathbf{k}`): the renderer fills `{k}` only where it cannot be LaTeX, so an author who
# glues a placeholder to a word gets the braces shown literally.
_GLUED = re.compile(r"(?<![\\A-Za-z])[A-Za-z]+(\{([A-Za-z_][A-Za-z0-9_]*)(?::[^{}]*)?\})(?!\})")


def _source(item: LoadedQuestion) -> str:
    return str(item.path) if item.path else item.question.id


def unfilled_placeholders(item: LoadedQuestion) -> list[Problem]:
    """A `{param}` glued to a word that rendering would leave as literal braces."""
    params = item.question.params
    if not params:
        return []
    filled = {m.start() for m in variants.PLACEHOLDER.finditer(item.text)}
    found: list[str] = []
    for match in _GLUED.finditer(item.text):
        if match.group(2) in params and match.start(1) not in filled:
            found.append(match.group(0))
    if not found:
        return []
    shown = ", ".join(sorted(set(found)))
    return [Problem(_source(item), "text", f"placeholder(s) glued to a word are shown literally, never filled: {shown}; "
                                            "put a space or a symbol (×) before the brace")]


CHECKS = (unfilled_placeholders,)


def lint_question(item: LoadedQuestion) -> list[Problem]:
    """Every wording check of one question."""
    problems: list[Problem] = []
    for check in CHECKS:
        problems += check(item)
    return problems
