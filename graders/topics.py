"""Topic slugs of the content map (TOPICS.md) and the area each belongs to."""
from __future__ import annotations

AREAS: tuple[str, ...] = ("math", "coding", "ml", "system_design", "behavioral")

_BY_AREA: dict[str, tuple[str, ...]] = {
    "math": ("linear-algebra", "calculus", "probability", "statistics", "optimization"),
    "coding": (
        "complexity", "arrays-strings", "hashing", "two-pointers", "sorting-searching",
        "stacks-queues", "heaps", "trees", "graphs", "recursion", "dynamic-programming",
        "intervals", "numpy-ml", "data-wrangling", "sql",
    ),
    "ml": (
        "fundamentals", "regularization", "evaluation-metrics", "validation", "data-preparation",
        "classical-models", "deep-learning", "transformers-nlp", "computer-vision",
        "recommender-systems", "time-series", "reinforcement-learning", "generative-models",
        "hyperparameter-tuning", "responsible-ai",
    ),
    "system_design": (
        "ml-system-design", "data-pipelines", "serving", "mlops", "monitoring",
        "scalability-reliability",
    ),
    "behavioral": ("communication", "collaboration", "ownership", "ethics"),
}

TOPICS: dict[str, str] = {slug: area for area, slugs in _BY_AREA.items() for slug in slugs}


def topics_of(area: str) -> tuple[str, ...]:
    return _BY_AREA[area]
