"""What the format bridges share: question YAML out of fields, ids, default metadata, and
text between Moodle's HTML and the bank's Markdown with its math kept intact."""
from __future__ import annotations

import html
import re
from typing import Any

import markdown
import markdownify
import nh3
import yaml

from graders.question import ID_PATTERN
from graders.topics import TOPICS
from interview import render

# Moodle and GIFT know nothing of areas, topics or difficulty: tags such as `area:ml`,
# `topic:regularization`, `difficulty:3`, `time_limit:120` carry them (the export writes them),
# else a category named after a topic, else these defaults (with a note to review them).
DEFAULT_AREA_TOPIC = {"code": ("coding", "arrays-strings")}
FALLBACK_AREA_TOPIC = ("ml", "fundamentals")
DEFAULT_TIME = {"choice": 60, "multi": 90, "numeric": 120, "rubric": 300, "code": 900}
DEFAULT_DIFFICULTY = 2
MIN_EXPLANATION = 20


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> Any:
    style = "|" if "\n" in value and not any(c in value for c in "\r\t") and value == value.rstrip(" ") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def question_yaml(fields: dict[str, Any]) -> str:
    """Bank YAML text for a question's fields, in the order they were given."""
    text = yaml.dump(fields, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    return text


def slug(text: str, fallback: str = "imported-question") -> str:
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:72].strip("-")
    return s if len(s) >= 3 and ID_PATTERN.match(s) else fallback


def unique_id(base: str, taken: set[str]) -> str:
    qid, n = base, 2
    while qid in taken:
        qid = f"{base[:72]}-{n}"
        n += 1
    taken.add(qid)
    return qid


def metadata(kind: str, tags: list[str], category: str, notes: list[str]) -> dict[str, Any]:
    """area, topics, difficulty and time_limit from tags or the category, else defaults."""
    found: dict[str, Any] = {}
    topics: list[str] = []
    for tag in tags:
        key, _, value = tag.partition(":")
        key, value = key.strip().lower(), value.strip()
        if key == "topic" and value in TOPICS:
            topics.append(value)
        elif key == "area" and value in set(TOPICS.values()):
            found["area"] = value
        elif key in ("difficulty", "time_limit") and value.isdigit():
            found[key] = int(value)
    if not topics:
        topics = [part for part in re.split(r"[/\s]+", category.lower()) if part in TOPICS][-1:]
    area = found.get("area") or (TOPICS[topics[0]] if topics else None)
    topics = [t for t in topics if TOPICS[t] == area]
    if not area or not topics:
        area, topic = DEFAULT_AREA_TOPIC.get(kind, FALLBACK_AREA_TOPIC)
        topics = [topic]
        notes.append(f"no area or topic in the file: filed under {area}/{topic} (tag it 'topic:SLUG' or edit it)")
    difficulty = found.get("difficulty", DEFAULT_DIFFICULTY)
    if not 1 <= difficulty <= 5:
        difficulty = DEFAULT_DIFFICULTY
    time_limit = found.get("time_limit", DEFAULT_TIME.get(kind, 120))
    if not 10 <= time_limit <= 7200:
        time_limit = DEFAULT_TIME.get(kind, 120)
    return {"area": area, "topics": topics, "difficulty": difficulty, "time_limit": time_limit}


def assemble(kind: str, prompt: str, answer: dict[str, Any], explanation: str, fallback: str, hints: list[str],
             tags: list[str], category: str, notes: list[str], params: dict[str, Any] | None = None) -> dict[str, Any]:
    """A question's fields (without id and title) in the bank's order; `fallback` explains the
    answer when the file gives no explanation of the bank's minimum length."""
    if len(explanation.strip()) < MIN_EXPLANATION:
        explanation = (explanation.strip() + "\n\n" if explanation.strip() else "") + fallback
        notes.append("the file has no general feedback: the explanation states the answer")
    meta = metadata(kind, tags, category, notes)
    fields: dict[str, Any] = {"area": meta["area"], "topics": meta["topics"], "difficulty": meta["difficulty"],
                              "kind": kind, "time_limit": meta["time_limit"], "prompt": prompt}
    if params:
        fields["params"] = params
    fields["answer"] = answer
    if hints:
        fields["hints"] = hints
    fields["explanation"] = explanation
    return fields


def metadata_tags(question: Any) -> list[str]:
    return ([f"area:{question.area}"] + [f"topic:{t}" for t in question.topics]
            + [f"difficulty:{question.difficulty}", f"time_limit:{question.time_limit}"])


# ---------------------------------------------------------------- text

_TEX_INLINE = re.compile(r"\\\((.+?)\\\)", re.DOTALL)
_TEX_DISPLAY = re.compile(r"\\\[(.+?)\\\]", re.DOTALL)
_DOLLARS = re.compile(r"\$\$(.+?)\$\$|(?<![\\$])\$(?!\s)(.+?)(?<![\s\\])\$", re.DOTALL)
_NAME_BRACES = re.compile(r"(?<![A-Za-z0-9_^}\\{])\{([A-Za-z_][A-Za-z0-9_]*)\}(?!\})")
_MATH_SLOT = re.compile("\ue010(\\d+)\ue011")


def _lift(text: str, pattern: re.Pattern[str], spans: list[str], make: Any) -> str:
    def lift(m: re.Match[str]) -> str:
        spans.append(make(m))
        return f"\ue010{len(spans) - 1}\ue011"
    return pattern.sub(lift, text)


def html_to_markdown(text: str, notes: list[str] | None = None, literal_braces: bool = True) -> str:
    """Moodle HTML (or plain text) -> bank Markdown. `\\(...\\)` becomes `$...$` and `\\[...\\]`
    `$$...$$` (the bank's math); images cannot come along and are named in `notes`.
    `literal_braces`: a `{name}` that is not a parameter is escaped as `{{name}}`."""
    spans: list[str] = []
    s = _lift(text, _TEX_DISPLAY, spans, lambda m: f"$${html.unescape(m.group(1))}$$")
    s = _lift(s, _TEX_INLINE, spans, lambda m: f"${html.unescape(m.group(1)).strip()}$")
    s = _lift(s, _DOLLARS, spans, lambda m: html.unescape(m.group(0)))
    images = re.findall(r"<img\b[^>]*>", s, flags=re.IGNORECASE)
    for img in images:
        src = re.search(r"src=[\"']([^\"']*)", img)
        name = src.group(1).rsplit("/", 1)[-1] if src else "an image"
        if notes is not None:
            notes.append(f"image '{html.unescape(name)[:80]}' was not imported: the bank holds no image files")
        s = s.replace(img, f" [image not imported: {html.escape(name[:80])}] ")
    if "<" in s or "&" in s:
        s = markdownify.markdownify(s, escape_underscores=False, escape_asterisks=False, heading_style="ATX",
                                    bullets="-", strip=["script", "style", "span", "div", "font"])
    s = re.sub(r"\n{3,}", "\n\n", s).strip()
    if literal_braces:
        s = _NAME_BRACES.sub(r"{{\1}}", s)
    return _MATH_SLOT.sub(lambda m: spans[int(m.group(1))], s)


def markdown_to_html(text: str) -> str:
    """Bank Markdown -> HTML for Moodle or Anki: math as MathJax `\\(...\\)` and `\\[...\\]`,
    which both render, with `_` and `*` inside math left alone."""
    spans: list[str] = []

    def make(m: re.Match[str]) -> str:
        if m.group(1) is not None:
            return f"\\[{html.escape(m.group(1), quote=False)}\\]"
        return f"\\({html.escape(m.group(2), quote=False)}\\)"

    lifted = _lift(text, _DOLLARS, spans, make)
    rendered = markdown.markdown(lifted, extensions=["fenced_code", "tables", "sane_lists"])
    # the same allow-list as the app's pages: a question's raw HTML never carries script to Anki or Moodle
    clean = nh3.clean(rendered, tags=render.ALLOWED_TAGS, attributes=render.ALLOWED_ATTRIBUTES,
                      url_schemes={"http", "https"}, link_rel="noopener noreferrer nofollow")
    return _MATH_SLOT.sub(lambda m: spans[int(m.group(1))], clean)


def plain(text: str) -> str:
    """A short plain-text form of Markdown or HTML (a question name, an option)."""
    return " ".join(re.sub(r"<[^>]+>", " ", html.unescape(text)).split())
