"""The question format as validated models: everything about a question lives in its file.

`Question` checks the fields every question shares; the `answer` section is checked by the
model of the question's kind (each grader module defines its own `Answer`), so a grader owns
both how its answers are written and how they are graded.
"""
from __future__ import annotations

import re
from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from graders import registry
from graders.topics import AREAS, TOPICS

Kind = Literal["choice", "multi", "numeric", "expression", "matrix", "code", "sql", "rubric"]
KINDS: tuple[str, ...] = ("choice", "multi", "numeric", "expression", "matrix", "code", "sql", "rubric")
ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Strict(BaseModel):
    """Unknown keys are errors: a misspelt field must not be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ParamSpec(Strict):
    """How one parameter is drawn: exactly one of int, float, choice or formula."""

    int_range: tuple[int, int] | None = Field(None, alias="int")
    float_range: tuple[float, float] | None = Field(None, alias="float")
    choice: list[Any] | None = None
    formula: str | None = None
    digits: int = Field(2, ge=0, le=8)
    matrix: tuple[int, int] | None = None
    vector: int | None = Field(None, ge=1, le=12)
    symmetric: bool = False
    exclude: list[float] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_source(self) -> "ParamSpec":
        sources = [n for n, v in (("int", self.int_range), ("float", self.float_range),
                                  ("choice", self.choice), ("formula", self.formula)) if v is not None]
        if len(sources) != 1:
            raise ValueError(
                "a parameter needs exactly one of 'int: [lo, hi]', 'float: [lo, hi]', 'choice: [...]' "
                f"or 'formula: ...' (found {', '.join(sources) or 'none'})"
            )
        for name, rng in (("int", self.int_range), ("float", self.float_range)):
            if rng is not None and rng[0] > rng[1]:
                raise ValueError(f"'{name}' range [{rng[0]}, {rng[1]}] has its low end above its high end")
        if self.choice is not None and not self.choice:
            raise ValueError("'choice' needs at least one value")
        if (self.matrix or self.vector) and self.int_range is None and self.float_range is None:
            raise ValueError("'matrix' and 'vector' parameters need an 'int' or 'float' range for their entries")
        if self.matrix and self.vector:
            raise ValueError("a parameter is either a 'matrix' or a 'vector', not both")
        if self.matrix and not (1 <= self.matrix[0] <= 12 and 1 <= self.matrix[1] <= 12):
            raise ValueError("'matrix' shape must be between [1, 1] and [12, 12]")
        if self.symmetric and not (self.matrix and self.matrix[0] == self.matrix[1]):
            raise ValueError("'symmetric' needs a square 'matrix'")
        return self


class Question(Strict):
    id: str = Field(min_length=3, max_length=80)
    title: str = Field(min_length=3, max_length=160)
    area: Literal["math", "coding", "ml", "system_design", "behavioral"]
    topics: list[str] = Field(min_length=1)
    difficulty: int = Field(ge=1, le=5)
    kind: Kind
    time_limit: int = Field(ge=10, le=7200)
    prompt: str = Field(min_length=10)
    params: dict[str, ParamSpec] = Field(default_factory=dict)
    constraints: list[str] = Field(default_factory=list)
    answer: dict[str, Any]
    hints: list[str] = Field(default_factory=list)
    explanation: str = Field(min_length=20)
    source: str | None = None

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not ID_PATTERN.match(value):
            raise ValueError("must be a lowercase slug of letters, digits and single hyphens, e.g. 'f1-from-counts'")
        return value

    @field_validator("topics")
    @classmethod
    def _known_topics(cls, value: list[str]) -> list[str]:
        unknown = [t for t in value if t not in TOPICS]
        if unknown:
            raise ValueError(f"unknown topic slug(s) {', '.join(unknown)}; see TOPICS.md for the list")
        return value

    @field_validator("params")
    @classmethod
    def _param_names(cls, value: dict[str, ParamSpec]) -> dict[str, ParamSpec]:
        for name in value:
            if not NAME_PATTERN.match(name):
                raise ValueError(f"parameter name '{name}' must be a letter or underscore followed by letters, digits, underscores")
        return value

    @model_validator(mode="after")
    def _cross_checks(self) -> "Question":
        wrong_area = [t for t in self.topics if TOPICS[t] != self.area]
        if wrong_area:
            raise ValueError(
                f"topic(s) {', '.join(wrong_area)} belong to area "
                f"{', '.join(sorted({TOPICS[t] for t in wrong_area}))}, not '{self.area}'"
            )
        return self

    @cached_property
    def spec(self) -> Any:
        """The `answer` section as the kind's own validated model (the loader checks it first)."""
        return registry.answer_model(self.kind).model_validate(self.answer)


AREA_NAMES = AREAS
