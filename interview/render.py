"""Markdown to safe HTML for question texts.

Math spans (`$...$`, `$$...$$`) are lifted out before Markdown so that `_` and `*` inside
them are not read as emphasis, then put back escaped inside elements the math renderer
finds. The HTML is sanitised with nh3 (an allow-list): question text, even an instructor's,
can never inject script.
"""
from __future__ import annotations

import html
import re
from functools import lru_cache

import markdown
import nh3
from markupsafe import Markup

from graders.variants import SLOT

_MATH = re.compile(r"\$\$(.+?)\$\$|(?<![\\$])\$(?!\s)(.+?)(?<![\s\\])\$", re.DOTALL)
_TAGS = {
    "p", "br", "strong", "em", "code", "pre", "ul", "ol", "li", "blockquote", "h3", "h4", "h5",
    "table", "thead", "tbody", "tr", "th", "td", "span", "div", "hr", "a", "sub", "sup",
}
_ATTRIBUTES = {"span": {"class"}, "div": {"class"}, "code": {"class"}, "a": {"href", "title"},
               "th": {"align"}, "td": {"align"}}
ALLOWED_TAGS, ALLOWED_ATTRIBUTES = _TAGS, _ATTRIBUTES  # for other HTML made from question texts (Anki, Moodle)


def markdown_html(text: str) -> Markup:
    """Sanitised HTML for a question text. A variant's text (`variants.Filled`) is rendered
    from its template's cached HTML, its values escaped into the slots, when every slot landed
    in text (a slot inside a tag, such as a link's address, gets the whole text rendered)."""
    template = getattr(text, "template", None)
    if template is not None:
        cached = _markdown_html(template)
        if not _SLOT_IN_TAG.search(cached):
            values = text.values  # type: ignore[attr-defined]
            where = _slot_places(cached)
            return Markup(SLOT.sub(lambda m: html.escape(_slot_value(values[int(m.group(1))],
                                                                     where.get(int(m.group(1)), "text"))), cached))
    return _markdown_html(str(text))


_SLOT_IN_TAG = re.compile("<[^>]*\ue002")
_TAG_OR_SLOT = re.compile(r"<(/?)(code|pre|span)\b([^>]*)>|\ue002(\d+)\ue003")


@lru_cache(maxsize=4096)
def _slot_places(cached: str) -> dict[int, str]:
    """Where each slot of a rendered template sits: 'code' (inside code or pre: left verbatim),
    'math' (inside a math span) or 'text'."""
    stack: list[str] = []
    places: dict[int, str] = {}
    for m in _TAG_OR_SLOT.finditer(cached):
        closing, tag, attrs, slot = m.groups()
        if slot is not None:
            places[int(slot)] = "code" if ("code" in stack or "pre" in stack) else "math" if "math" in stack else "text"
        elif closing:
            if stack:
                stack.pop()
        else:
            stack.append("math" if tag == "span" and "math" in attrs else tag)
    return places


def _slot_value(value: str, place: str) -> str:
    if place == "code" or not _PLAIN_NUMBER.fullmatch(value):
        return value
    if re.fullmatch(r"-?\d{1,4}", value):
        return value
    return format_number(value, latex=place == "math")


@lru_cache(maxsize=4096)
def _markdown_html(text: str) -> Markup:
    spans: list[str] = []

    def lift(match: re.Match[str]) -> str:
        display = match.group(1) is not None
        body = match.group(1) if display else match.group(2)
        cls = "math display" if display else "math inline"
        spans.append(f'<span class="{cls}">{html.escape(body)}</span>')
        return f"\ue000{len(spans) - 1}\ue001"

    lifted = _MATH.sub(lift, text)
    rendered = markdown.markdown(lifted, extensions=["fenced_code", "tables", "sane_lists"])
    rendered = re.sub(r"\ue000(\d+)\ue001", lambda m: spans[int(m.group(1))], rendered)
    clean = nh3.clean(rendered, tags=_TAGS, attributes=_ATTRIBUTES, url_schemes={"http", "https"},
                      link_rel="noopener noreferrer nofollow")
    # a wide table scrolls inside its own box instead of widening the page on a phone
    clean = clean.replace("<table>", '<div class="table-scroll"><table>').replace("</table>", "</table></div>")
    return Markup(clean)


# Numbers as a reader expects them (issue 15): thousands separators, no exponent for ordinary
# magnitudes, six significant figures at most. One helper for every page: the `num` filter for a
# value, `numbers` for a line of text, and the slots of a question's text (below).
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
_NUMBER_TOKEN = re.compile(r"(?<![\w.\\^{])-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\w.]*\d)(?![\w])")
_PLAIN_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")


def format_number(value: float | int | str, latex: bool = False) -> str:
    """`49828900.0` -> `49,828,900`; `4.98289e+07` -> `49,828,900`; `1.5e-07` -> `1.5 × 10⁻⁷`;
    `0.25` -> `0.25`; small integers unchanged. In LaTeX (`latex=True`) the separator is `{,}`
    and powers are written `\\times 10^{-7}`. Anything that is not a number is returned as is."""
    if isinstance(value, str):
        if not _PLAIN_NUMBER.fullmatch(value.strip()):
            return value
        text = value.strip()
        value = float(text) if any(c in text for c in ".eE") else int(text)
    if isinstance(value, bool):
        return str(value)
    sep = "{,}" if latex else ","
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) < 1e15):
        return f"{int(value):,}".replace(",", sep)
    x = float(value)
    if x != x or x in (float("inf"), float("-inf")):
        return str(x)
    if x != 0 and (abs(x) < 1e-4 or abs(x) >= 1e15):
        mantissa, exponent = f"{x:.3e}".split("e")
        mantissa = mantissa.rstrip("0").rstrip(".")
        if latex:
            return rf"{mantissa} \times 10^{{{int(exponent)}}}"
        return f"{mantissa} × 10{str(int(exponent)).translate(_SUPERSCRIPT)}"
    if abs(x) < 1:
        text = f"{x:.6g}"
    elif abs(x) < 1e6:
        digits = 6 - len(str(int(abs(x))))
        text = f"{x:,.{digits}f}".rstrip("0").rstrip(".") if digits > 0 else f"{round(x):,}"
    else:
        text = f"{round(x):,}"
    return text.replace(",", sep)


def humanize_numbers(text: str) -> str:
    """Every stand-alone number in a line of feedback or an answer written as `format_number` does;
    short integers (up to four digits, such as years or test numbers) are left alone."""
    def one(m: re.Match[str]) -> str:
        token = m.group(0)
        if re.fullmatch(r"-?\d{1,4}", token):
            return token
        return format_number(token)
    return _NUMBER_TOKEN.sub(one, text)
