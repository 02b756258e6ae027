"""Values that cross the grading seam: a generated variant and the grade of an answer.

Both are plain, JSON-able dataclasses so that the web app can store them and the CLI can
print them without knowing which kind of question produced them.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

Verdict = Literal["correct", "partial", "incorrect", "invalid"]
VERDICTS: tuple[str, ...] = ("correct", "partial", "incorrect", "invalid")


@dataclass(frozen=True)
class Variant:
    """A question instantiated with one seed: the same seed always gives the same variant."""

    question_id: str
    seed: int
    params: dict[str, Any]
    prompt: str
    explanation: str
    hints: list[str]
    data: dict[str, Any] = field(default_factory=dict)  # kind-specific: options, expected value...

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def for_display(self, *, hints: bool = True, explanation: bool = True) -> "Variant":
        """What a learner may see before answering: display data only (no expected values,
        hidden rows or per-option reasons), and no hints or explanation where asked (mocks)."""
        data = {k: v for k, v in self.data.items() if k in DISPLAY_KEYS}
        if "options" in data:
            data["options"] = [{"label": o["label"], "text": o["text"]} for o in data["options"]]
        return replace(self, data=data, hints=list(self.hints) if hints else [],
                       explanation=self.explanation if explanation else "")


# The variant data a learner sees with the question; everything else stays on the server.
DISPLAY_KEYS = ("options", "multi", "unit", "percent", "vars", "schema", "rows", "starter", "function",
                "visible", "hidden_count")


@dataclass
class Grade:
    """The outcome of grading one answer; `score` is in [0, 1]."""

    score: float
    verdict: Verdict
    feedback: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    needs_self_rating: bool = False

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {self.verdict!r}")
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"score {self.score} outside [0, 1]")

    @classmethod
    def invalid(cls, *messages: str, **details: Any) -> "Grade":
        return cls(0.0, "invalid", list(messages), dict(details))

    @classmethod
    def from_score(cls, score: float, feedback: list[str], **details: Any) -> "Grade":
        """Pick the verdict from the score so that every kind labels scores the same way."""
        score = min(1.0, max(0.0, float(score)))
        if score >= 1.0 - 1e-9:
            verdict: Verdict = "correct"
            score = 1.0
        elif score > 0.0:
            verdict = "partial"
        else:
            verdict = "incorrect"
        return cls(score, verdict, feedback, dict(details))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class QuestionError(ValueError):
    """A problem with a question's own content (not with a learner's answer)."""
