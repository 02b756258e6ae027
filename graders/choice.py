"""Single choice (`choice`) and multiple selection (`multi`).

Options are shuffled per variant; the learner answers with the letters shown (`B`, `A, C`)
or the option text. Each option may carry a `why` that explains it after grading, which is
where a distractor teaches something.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from graders import variants
from graders.types import Grade, Variant

if TYPE_CHECKING:
    from graders.question import Question

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class OptionSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    text: str = Field(min_length=1)
    why: str | None = None


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    options: list[str | OptionSpec] = Field(min_length=2, max_length=12)
    correct: int | list[int] = Field(description="0-based index, or indices for multi")
    shuffle: bool = True

    @model_validator(mode="after")
    def _check(self) -> "Answer":
        texts = [self.option(i).text.strip() for i in range(len(self.options))]
        dupes = {t for t in texts if texts.count(t) > 1}
        if dupes:
            raise ValueError(f"options repeat: {', '.join(sorted(dupes))}")
        for i in self.correct_set:
            if not 0 <= i < len(self.options):
                raise ValueError(f"correct index {i} is out of range: there are {len(self.options)} options (0 to {len(self.options) - 1})")
        if not self.correct_set:
            raise ValueError("'correct' must name at least one option")
        return self

    @property
    def correct_set(self) -> set[int]:
        return set(self.correct) if isinstance(self.correct, list) else {self.correct}

    def option(self, i: int) -> OptionSpec:
        o = self.options[i]
        return o if isinstance(o, OptionSpec) else OptionSpec(text=o)


def prepare(question: "Question", params: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    spec: Answer = question.spec
    if question.kind == "choice" and len(spec.correct_set) != 1:
        from graders.types import QuestionError

        raise QuestionError("a 'choice' question has exactly one correct option; use kind 'multi' for several")
    order = list(range(len(spec.options)))
    if spec.shuffle:
        order = [int(i) for i in rng.permutation(len(order))]
    options = []
    for pos, key in enumerate(order):
        opt = spec.option(key)
        options.append({
            "label": LETTERS[pos],
            "key": key,
            "text": variants.render(opt.text, params, f"answer.options[{key}]"),
            "why": variants.render(opt.why, params, f"answer.options[{key}].why") if opt.why else None,
        })
    correct = sorted(o["label"] for o in options if o["key"] in spec.correct_set)
    return {"options": options, "correct": correct, "multi": question.kind == "multi"}


def parse_selection(answer: str, options: list[dict[str, Any]]) -> set[str]:
    """Letters chosen; raises ValueError with a learner-facing message."""
    text = answer.strip()
    if not text:
        raise ValueError("No option was chosen.")
    by_text = {o["text"].strip().lower(): o["label"] for o in options}
    if text.lower() in by_text:
        return {by_text[text.lower()]}
    labels = {o["label"] for o in options}
    parts = [p for p in re.split(r"[\s,;]+", text.upper()) if p]
    chosen = set()
    for p in parts:
        p = p.strip("().")
        if p not in labels:
            raise ValueError(f"'{p}' is not one of the options: choose from {', '.join(sorted(labels))}.")
        chosen.add(p)
    return chosen


def grade(question: "Question", variant: Variant, answer: str) -> Grade:
    data = variant.data
    options = data["options"]
    try:
        chosen = parse_selection(answer, options)
    except ValueError as exc:
        return Grade.invalid(str(exc))
    correct = set(data["correct"])
    if not data["multi"] and len(chosen) > 1:
        return Grade.invalid("Choose exactly one option.")
    right, wrong = chosen & correct, chosen - correct
    score = max(0.0, (len(right) - len(wrong)) / len(correct))
    feedback = []
    if score == 1.0:
        feedback.append("Correct.")
    elif data["multi"]:
        missed = sorted(correct - chosen)
        feedback.append(f"{len(right)} of {len(correct)} correct options chosen"
                        + (f", {len(wrong)} wrong one(s) chosen" if wrong else "")
                        + (f"; missed {', '.join(missed)}." if missed else "."))
    else:
        feedback.append(f"Not quite: the answer is {', '.join(sorted(correct))}.")
    for o in options:
        if o["why"] and (o["label"] in chosen or o["label"] in correct):
            feedback.append(f"{o['label']}: {o['why']}")
    return Grade.from_score(score, feedback, chosen=sorted(chosen), correct=sorted(correct))


def reference_answer(question: "Question", variant: Variant) -> str:
    return ", ".join(variant.data["correct"])
