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
            return Markup(SLOT.sub(lambda m: html.escape(values[int(m.group(1))]), cached))
    return _markdown_html(str(text))


_SLOT_IN_TAG = re.compile("<[^>]*\ue002")


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
    return Markup(clean)
