"""The bundled bank validates: schema, ids, topics, 50 variants, reference answers grade 1.0."""
from __future__ import annotations

from interview.validate import validate


def test_bundled_bank_is_valid() -> None:
    loaded, problems = validate()
    assert problems == [], "\n".join(map(str, problems))
    assert len(loaded) >= 24
    areas = {item.question.area for item in loaded}
    assert {"math", "coding", "ml", "system_design"} <= areas
