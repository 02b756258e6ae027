"""What the bank holds: counts by area, topic, kind and difficulty, and how much varies."""
from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any, Iterable

from graders.question import KINDS, Question
from graders.topics import AREAS, topics_of


def bank_stats(questions: Iterable[Question]) -> dict[str, Any]:
    qs = list(questions)
    by_area = Counter(q.area for q in qs)
    by_topic: dict[str, Counter[str]] = defaultdict(Counter)
    params_by_area: Counter[str] = Counter()
    for q in qs:
        for t in q.topics:
            by_topic[q.area][t] += 1
        if q.params:
            params_by_area[q.area] += 1
    total = len(qs)
    return {
        "total": total,
        "by_area": {a: by_area.get(a, 0) for a in AREAS},
        "by_area_topic": {a: {t: by_topic[a].get(t, 0) for t in topics_of(a)} for a in AREAS},
        "by_kind": {k: sum(1 for q in qs if q.kind == k) for k in KINDS},
        "by_difficulty": {str(d): sum(1 for q in qs if q.difficulty == d) for d in range(1, 6)},
        "by_area_difficulty": {a: {str(d): sum(1 for q in qs if q.area == a and q.difficulty == d) for d in range(1, 6)}
                               for a in AREAS},
        "parameterised": sum(params_by_area.values()),
        "parameterised_share": (sum(params_by_area.values()) / total) if total else 0.0,
        "parameterised_by_area": {a: (params_by_area[a] / by_area[a]) if by_area.get(a) else 0.0 for a in AREAS},
    }
