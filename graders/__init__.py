"""Auto-graders: instantiate a question with a seed, grade an answer to that variant.

`grade(question, variant, answer)` is the single entry point for every kind; the web app,
the CLI, the mock interview and the validator all go through it.
"""
from __future__ import annotations

import logging
from typing import Any

from graders import registry, variants
from graders.question import Question
from graders.types import Grade, QuestionError, Variant

__all__ = ["Grade", "Question", "QuestionError", "Variant", "grade", "instantiate", "reference_answer"]

MAX_ANSWER_CHARS = 100_000
log = logging.getLogger(__name__)


def instantiate(question: Question, seed: int) -> Variant:
    """The variant of `question` for `seed`: parameters, rendered texts and kind data."""
    rng = variants.rng_for(question.id, seed)
    params = variants.draw_params(question, rng)
    module = registry.module_for(question.kind)
    data = module.prepare(question, params, rng)
    return Variant(
        question_id=question.id,
        seed=int(seed),
        params=params,
        prompt=variants.render(question.prompt, params, "prompt"),
        explanation=variants.render(question.explanation, params, "explanation"),
        hints=[variants.render(h, params, f"hints[{i}]") for i, h in enumerate(question.hints)],
        data=data,
    )


def grade(question: Question, variant: Variant, answer: Any) -> Grade:
    """Grade a learner's answer; garbage gets an `invalid` grade, never an exception."""
    if answer is None:
        return Grade.invalid("No answer was given.")
    if not isinstance(answer, str):
        return Grade.invalid(f"Expected the answer as text, got {type(answer).__name__}.")
    if len(answer) > MAX_ANSWER_CHARS:
        return Grade.invalid(f"The answer is too long ({len(answer):,} characters; at most {MAX_ANSWER_CHARS:,}).")
    if "\x00" in answer:
        return Grade.invalid("The answer contains a NUL character.")
    module = registry.module_for(question.kind)
    try:
        return module.grade(question, variant, answer)
    except QuestionError:
        raise
    except Exception as exc:  # a grader bug must not take the server down with it
        log.exception("grader for %s failed on question %s", question.kind, question.id)
        return Grade.invalid(f"The grader could not read this answer ({type(exc).__name__}).")


def reference_answer(question: Question, variant: Variant) -> str:
    """An answer text that must grade 1.0 on this variant (used by `interview validate`)."""
    return registry.module_for(question.kind).reference_answer(question, variant)
