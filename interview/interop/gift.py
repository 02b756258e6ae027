"""GIFT (https://docs.moodle.org/en/GIFT_format) to bank questions.

The kinds GIFT can express: multiple choice (`{=right ~wrong}`, weights `~%50%` make it a
multi), true/false (`{T}`, `{FALSE}`), numerical (`{#3.14:0.01}`, `{#1..5}`, `{#=3:0.5 =%50%...}`),
short answer (`{=a =b}`) and essay (`{}`); `::title::`, `[html]`/`[markdown]` formats, `####`
general feedback, `#` answer feedback, `\\` escapes, `$CATEGORY:` and `//` comments. Matching
questions (`->`) have no counterpart and are refused; every problem names its line.
"""
from __future__ import annotations

import math
import re
from typing import Any

from interview.interop import Converted, common

_ESCAPES = {"\\~": "\ue020", "\\=": "\ue021", "\\#": "\ue022", "\\{": "\ue023", "\\}": "\ue024", "\\:": "\ue025",
            "\\n": "\n"}
_UNESCAPE = {v: k[1] for k, v in _ESCAPES.items() if k != "\\n"}
_TRUE = ("T", "TRUE")
_FALSE = ("F", "FALSE")


class _Refuse(Exception):
    pass


def _protect(text: str) -> str:
    for k, v in _ESCAPES.items():
        text = text.replace(k, v)
    return text


def _restore(text: str) -> str:
    for k, v in _UNESCAPE.items():
        text = text.replace(k, v)
    return text


def _blocks(text: str) -> list[tuple[int, str, str]]:
    """(first line, category in force, question text) for each question, comments dropped."""
    out: list[tuple[int, str, str]] = []
    category = ""
    current: list[str] = []
    start = 0
    for n, line in enumerate(text.splitlines() + [""], 1):
        stripped = line.strip()
        if stripped.startswith("//"):
            continue
        if stripped.startswith("$CATEGORY:"):
            category = stripped[len("$CATEGORY:"):].strip()
            continue
        if not stripped:
            if current:
                out.append((start, category, "\n".join(current)))
                current = []
            continue
        if not current:
            start = n
        current.append(line)
    return out


def parse(text: str, source: str) -> list[Converted]:
    """Every question of a GIFT file, converted or refused with its line."""
    out: list[Converted] = []
    taken: set[str] = set()
    for line, category, block in _blocks(text):
        item = Converted(f"line {line}")
        try:
            title, fields = _question(_protect(block), category, item.notes, line)
        except _Refuse as exc:
            item.refused = str(exc)
            out.append(item)
            continue
        item.source = f"line {line} '{title[:60]}'"
        item.qid = common.unique_id(common.slug(title), taken)
        item.text = common.question_yaml({"id": item.qid, "title": title, **fields})
        out.append(item)
    return out


def _line_of(block: str, index: int, first: int) -> int:
    return first + block.count("\n", 0, index)


def _question(block: str, category: str, notes: list[str], first: int) -> tuple[str, dict[str, Any]]:
    title = ""
    body = block.lstrip()
    if body.startswith("::"):
        end = body.find("::", 2)
        if end < 0:
            raise _Refuse(f"line {first}: the title '::' is not closed")
        title = _restore(body[2:end]).strip()
        body = body[end + 2:]
    fmt = "moodle"
    m = re.match(r"\s*\[(html|moodle|plain|markdown)\]", body)
    if m:
        fmt, body = m.group(1), body[m.end():]
    open_at = body.find("{")
    if open_at < 0:
        raise _Refuse(f"line {first}: no answer block '{{...}}' (escape a literal brace as \\{{)")
    close_at = body.find("}", open_at)
    if close_at < 0:
        raise _Refuse(f"line {_line_of(block, len(block) - len(body) + open_at, first)}: the answer block '{{' is not closed")
    before, inside, after = body[:open_at], body[open_at + 1:close_at], body[close_at + 1:]
    if "{" in after or "{" in inside:
        raise _Refuse(f"line {first}: more than one answer block")
    prompt_raw = before.rstrip() + (" _____ " + after.strip() if after.strip() else "")
    prompt = _text(prompt_raw, fmt, notes)
    if len(prompt) < 10:
        raise _Refuse(f"line {first}: the question text is empty or shorter than 10 characters")
    if not title:
        title = common.plain(prompt)[:60]
    if len(title) < 3:
        title = f"Question at line {first}"
    general = ""
    if "####" in inside:
        inside, general = inside.split("####", 1)
    explanation = _text(general, fmt, notes)
    kind, answer, fallback = _answer(inside.strip(), fmt, notes, first, explanation)
    return title[:160], common.assemble(kind, prompt, answer, explanation, fallback, [], [], category, notes)


def _text(raw: str, fmt: str, notes: list[str]) -> str:
    text = _restore(raw).strip()
    if fmt == "html":
        return common.html_to_markdown(text, notes)
    return common.html_to_markdown(text.replace("<", "&lt;"), notes) if "&" in text else \
        re.sub(common._NAME_BRACES.pattern, r"{{\1}}", text)


def _split_feedback(part: str) -> tuple[str, str]:
    if "#" in part:
        text, why = part.split("#", 1)
        return text.strip(), why.strip()
    return part.strip(), ""


def _answer(inside: str, fmt: str, notes: list[str], line: int, model: str = "") -> tuple[str, dict[str, Any], str]:
    if not inside:
        if len(model) < 10:
            raise _Refuse(f"line {line}: an essay ({{}}) needs a model answer to become a rubric: "
                          "give it as general feedback ('{{####...}}')")
        words = sorted({w for w in re.findall(r"[a-z][a-z-]{6,}", model.lower())}, key=lambda w: -len(w))[:8]
        if not words:
            raise _Refuse(f"line {line}: the essay's general feedback has no words to build a rubric from")
        notes.append("an essay became a rubric: one point whose phrases are the model answer's longest words; review it")
        return "rubric", {"points": [{"text": "Covers the points of the model answer", "weight": 1, "phrases": words}],
                          "model_answer": model}, "Compare your answer with the model answer:\n\n" + model
    head = inside.split("#", 1)[0].strip().upper()
    if head in _TRUE + _FALSE:
        truth = head in _TRUE
        return "choice", {"options": ["True", "False"], "correct": 0 if truth else 1, "shuffle": False}, \
            f"The statement is {'true' if truth else 'false'}."
    if "->" in inside:
        raise _Refuse(f"line {line}: matching questions ('->') have no counterpart in the bank")
    if inside.startswith("#"):
        return _numerical(inside[1:], notes, line)
    parts = re.split(r"(?=[=~])", inside)
    parts = [p for p in parts if p.strip()]
    if not parts or any(p[0] not in "=~" for p in parts):
        raise _Refuse(f"line {line}: cannot read the answers '{_restore(inside)[:60]}': start each with '=' or '~'")
    answers: list[tuple[str, float, str]] = []
    for p in parts:
        mark, rest = p[0], p[1:]
        weight = 100.0 if mark == "=" else 0.0
        w = re.match(r"\s*%(-?\d+(?:\.\d+)?)%", rest)
        if w:
            weight, rest = float(w.group(1)), rest[w.end():]
        text, why = _split_feedback(rest)
        if not text:
            raise _Refuse(f"line {line}: an answer is empty")
        answers.append((_text(text, fmt, notes), weight, _text(why, fmt, notes) if why else ""))
    if all(p[0] == "=" for p in parts):
        accepted = [a for a, w, _ in answers if w >= 99.99]
        if not accepted:
            raise _Refuse(f"line {line}: no answer is worth full marks")
        try:
            value = float(accepted[0])
        except ValueError:
            value = math.nan
        if math.isfinite(value):
            notes.append("a short answer that is a number became a numeric question (exact, within 1e-9)")
            return "numeric", {"value": value if not value.is_integer() else int(value), "atol": 1e-9}, f"The answer is {accepted[0]}."
        notes.append("a short answer became a rubric: an answer naming one of the accepted answers covers it")
        model = f"The expected answer: {accepted[0]}."
        return "rubric", {"points": [{"text": f"Gives the answer: {accepted[0][:200]}", "weight": 1,
                                      "phrases": accepted}], "model_answer": model}, model
    options = [{"text": a, "why": why} if why else a for a, _, why in answers]
    if not 2 <= len(options) <= 12:
        raise _Refuse(f"line {line}: the bank takes 2 to 12 options, not {len(options)}")
    correct = [i for i, (_, w, _) in enumerate(answers) if w > 0]
    if not correct:
        raise _Refuse(f"line {line}: no option is marked right ('=' or a positive '%weight%')")
    fallback = "The correct answer: " + "; ".join(common.plain(answers[i][0]) for i in correct) + "."
    full = [i for i in correct if answers[i][1] >= 99.99]
    if len(full) == 1 and len(correct) == 1:
        return "choice", {"options": options, "correct": full[0]}, fallback
    share = 100 / len(correct)
    if any(abs(answers[i][1] - share) > 0.5 for i in correct):
        notes.append("GIFT's weights per option became the bank's scoring: (right - wrong) / number right")
    return "multi", {"options": options, "correct": correct}, fallback


def _numerical(spec: str, notes: list[str], line: int) -> tuple[str, dict[str, Any], str]:
    entries = [e for e in re.split(r"(?==)", spec) if e.strip()]
    chosen = None
    for e in entries:
        text = e.strip()
        weight = 100.0
        if text.startswith("="):
            text = text[1:]
            w = re.match(r"%(-?\d+(?:\.\d+)?)%", text)
            if w:
                weight, text = float(w.group(1)), text[w.end():]
        text = text.split("#", 1)[0].strip()
        if weight >= 99.99 and chosen is None:
            chosen = text
    if len(entries) > 1:
        notes.append("only the answer worth full marks was kept: partial-credit answers were dropped")
    if chosen is None:
        raise _Refuse(f"line {line}: no numerical answer is worth full marks")
    try:
        if ".." in chosen:
            lo, hi = (float(x) for x in chosen.split("..", 1))
            value, tol = float(f"{(lo + hi) / 2:.12g}"), float(f"{abs(hi - lo) / 2:.12g}")
        elif ":" in _restore(chosen):
            v, t = _restore(chosen).split(":", 1)
            value, tol = float(v), abs(float(t))
        else:
            value, tol = float(chosen), 0.0
    except ValueError:
        raise _Refuse(f"line {line}: '{_restore(chosen)[:40]}' is not a number, a number:tolerance or a min..max range") from None
    if not (math.isfinite(value) and math.isfinite(tol)):
        raise _Refuse(f"line {line}: the number is not finite")
    num = int(value) if value.is_integer() else value
    tol_out = int(tol) if tol.is_integer() else tol
    return "numeric", {"value": num, "atol": tol_out}, f"The answer is {num}" + (f" (within {tol_out})." if tol else ".")
