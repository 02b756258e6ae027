"""Numbers as a reader expects them (issue 15, item 12): one helper for values, lines of text and
the values filled into a question's text."""
from __future__ import annotations

import pytest

from graders.variants import render
from interview.render import format_number, humanize_numbers, markdown_html


@pytest.mark.parametrize("value, text", [
    (4.98289e+07, "49,828,900"), ("4.98289e+07", "49,828,900"), (49828900.0, "49,828,900"), (123456, "123,456"),
    (12345.6789, "12,345.7"), (0.25, "0.25"), (1 / 3, "0.333333"), (1.5e-07, "1.5 × 10⁻⁷"), (3, "3"), (-2500.5, "-2,500.5"),
    ("not a number", "not a number"),
])
def test_format_number(value: object, text: str) -> None:
    assert format_number(value) == text  # type: ignore[arg-type]


def test_latex_numbers_keep_their_separators_as_math() -> None:
    assert format_number(4.98289e+07, latex=True) == "49{,}828{,}900"
    assert format_number(1.5e-07, latex=True) == r"1.5 \times 10^{-7}"


def test_feedback_lines_leave_short_integers_and_words_alone() -> None:
    line = "Test 12: expected 4.98289e+07, got 2024 in run x1234567; rel. error 0.0123456789."
    assert humanize_numbers(line) == "Test 12: expected 49,828,900, got 2024 in run x1234567; rel. error 0.0123457."


def test_prompt_values_are_formatted_outside_code() -> None:
    text = render("Revenue {r}, in math $x = {r}$, in code `f({r})`, count {n}.", {"r": 4.98289e+07, "n": 12})
    html = str(markdown_html(text))
    assert "Revenue 49,828,900," in html
    assert "x = 49{,}828{,}900" in html
    assert "<code>f(49828900)</code>" in html  # code is left as the parameter writes it
    assert "count 12." in html
