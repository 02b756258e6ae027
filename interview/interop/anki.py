"""Anki decks (.apkg, built with genanki) of bank questions, for review on a phone.

One note per question whose guid derives from the question id, so re-importing a newer export
updates the notes instead of duplicating them. Math is MathJax `\\(...\\)` / `\\[...\\]`, which
Anki renders; the back holds the answer and the explanation. A parameterised question is
exported as one fixed variant (seed 0), and the card says so.
"""
from __future__ import annotations

import hashlib
import html
import tempfile
from pathlib import Path
from typing import Iterable

import genanki

import graders
from graders.question import Question
from interview.interop.common import markdown_to_html

MODEL_ID = 1719482301  # fixed forever: Anki keys note types on it
FIXED_VARIANT_NOTE = "One fixed variant of a question whose numbers change in the app."
FIELDS = ["Id", "Question", "Answer", "Explanation"]

MODEL = genanki.Model(
    MODEL_ID, "interview question",
    fields=[{"name": f} for f in FIELDS],
    templates=[{
        "name": "Question",
        "qfmt": "{{Question}}",
        "afmt": "{{FrontSide}}<hr id=answer><div class=answer>{{Answer}}</div><div class=explanation>{{Explanation}}</div>",
    }],
    css=".card{font-family:sans-serif;font-size:18px;text-align:left;max-width:40em;margin:auto}"
        ".explanation{margin-top:1em;color:#444}.variant{font-size:14px;color:#777}pre{white-space:pre-wrap}",
    sort_field_index=1,
)


def note_guid(question_id: str) -> str:
    """The note's stable guid: the same question always updates the same note."""
    return genanki.guid_for("interview", question_id)


def deck_id(name: str) -> int:
    return int(hashlib.sha256(f"interview deck {name}".encode()).hexdigest()[:8], 16) | 1 << 30


def _answer_html(question: Question, variant: graders.Variant) -> str:
    reference = graders.reference_answer(question, variant)
    if question.kind in ("choice", "multi"):
        chosen = {c.strip() for c in reference.split(",")}
        items = "".join(f"<li><b>{o['label']}</b>. {markdown_to_html(o['text'])}</li>"
                        for o in variant.data["options"] if o["label"] in chosen)
        return f"<ul>{items}</ul>"
    if question.kind in ("code", "sql"):
        return f"<pre><code>{html.escape(reference)}</code></pre>"
    if question.kind == "rubric":
        points = "".join(f"<li>{html.escape(p.text)}</li>" for p in question.spec.points)
        return markdown_to_html(reference) + f"<p><b>A strong answer covers:</b></p><ul>{points}</ul>"
    if question.kind in ("expression", "matrix"):
        return f"<p><code>{html.escape(reference)}</code></p>"
    return markdown_to_html(reference)


def _front_html(question: Question, variant: graders.Variant) -> str:
    front = markdown_to_html(str(variant.prompt))
    if question.kind in ("choice", "multi"):
        items = "".join(f"<li><b>{o['label']}</b>. {markdown_to_html(o['text'])}</li>" for o in variant.data["options"])
        front += f"<ul>{items}</ul>"
        if question.kind == "multi":
            front += "<p><i>Choose every correct option.</i></p>"
    if question.params:
        front += f"<p class=variant>{FIXED_VARIANT_NOTE}</p>"
    return front


def note_for(question: Question) -> genanki.Note:
    variant = graders.instantiate(question, 0)
    fields = [question.id, _front_html(question, variant), _answer_html(question, variant),
              markdown_to_html(str(variant.explanation))]
    tags = [question.area, *question.topics, question.kind]
    return genanki.Note(model=MODEL, fields=fields, guid=note_guid(question.id), tags=tags)


def export(questions: Iterable[Question], deck_name: str = "interview") -> tuple[bytes, list[tuple[str, str]]]:
    """An .apkg of `questions` and the notes per question (parameterised ones say so)."""
    deck = genanki.Deck(deck_id(deck_name), deck_name)
    notes: list[tuple[str, str]] = []
    for question in questions:
        deck.add_note(note_for(question))
        if question.params:
            notes.append((question.id, "exported as one fixed variant (seed 0)"))
    with tempfile.TemporaryDirectory(prefix="interview-anki-") as tmp:
        path = Path(tmp) / "deck.apkg"
        genanki.Package(deck).write_to_file(str(path))
        return path.read_bytes(), notes
