"""Anki export: the .apkg opened with Anki's own library (`anki` on PyPI): one note per question,
MathJax math, the explanation on the back, a fixed variant said so, and a re-export updating
the same notes instead of duplicating them."""
from __future__ import annotations

import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session

from interview import accounts
from interview.interop import anki as anki_export
from interview.interop import exports
from interview.models import Card, utcnow
from interview.sync import sync_bank

anki_collection = pytest.importorskip("anki.collection")
from anki import import_export_pb2 as ie  # noqa: E402

def _open(tmp_path: Path, name: str):  # type: ignore[no-untyped-def]
    return anki_collection.Collection(str(tmp_path / f"{name}.anki2"))


def _import(col, apkg: Path) -> None:  # type: ignore[no-untyped-def]
    options = ie.ImportAnkiPackageOptions(
        update_notes=ie.IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_IF_NEWER, update_notetypes=ie.IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_IF_NEWER,
        with_scheduling=False, merge_notetypes=True)
    col.import_anki_package(ie.ImportAnkiPackageRequest(package_path=str(apkg), options=options))


def _pick(bundled_bank: list, kinds: dict[str, bool]) -> list:
    """One bundled question of each kind; True: one with params."""
    picked = []
    for kind, with_params in kinds.items():
        picked.append(next(i.question for i in bundled_bank if i.question.kind == kind and bool(i.question.params) == with_params
                           and (kind != "numeric" or "$" in i.question.prompt or "$" in i.question.explanation)))
    return picked


def test_apkg_opens_in_anki_with_stable_notes(bundled_bank: list, tmp_path: Path) -> None:
    questions = _pick(bundled_bank, {"numeric": True, "choice": False, "rubric": False, "code": False})
    data, notes = anki_export.export(questions, "ML interviews")
    apkg = tmp_path / "deck.apkg"
    apkg.write_bytes(data)
    col = _open(tmp_path, "phone")
    try:
        _import(col, apkg)
        ids = col.find_notes("")
        assert len(ids) == len(questions)
        by_id = {col.get_note(n)["Id"]: col.get_note(n) for n in ids}
        assert set(by_id) == {q.id for q in questions}
        for q in questions:
            note = by_id[q.id]
            assert note.guid == anki_export.note_guid(q.id)
            assert note["Explanation"] and "$" not in note["Question"]  # math is MathJax, not dollars
            assert q.area in note.tags and q.kind in note.tags
        numeric = questions[0]
        assert "\\(" in by_id[numeric.id]["Question"] + by_id[numeric.id]["Explanation"]
        assert anki_export.FIXED_VARIANT_NOTE in by_id[numeric.id]["Question"]
        assert (numeric.id, "exported as one fixed variant (seed 0)") in notes
        choice = questions[1]
        correct = choice.spec.option(choice.spec.correct).text
        assert correct in by_id[choice.id]["Answer"] and "<li>" in by_id[choice.id]["Question"]
        assert "def " in by_id[questions[3].id]["Answer"]
        deck_names = [d.name for d in col.decks.all_names_and_ids()]
        assert "ML interviews" in deck_names
        # a later re-export with a changed explanation updates the same note (Anki compares
        # modification times in whole seconds: an export in the same second is taken as the same)
        time.sleep(1.1)
        changed = questions[1].model_copy(update={"explanation": questions[1].explanation + " Updated for the re-export."})
        again = tmp_path / "again.apkg"
        again.write_bytes(anki_export.export([changed, *questions[2:]], "ML interviews")[0])
        _import(col, again)
        assert len(col.find_notes("")) == len(questions)
        assert "Updated for the re-export." in col.get_note(col.find_notes(f"Id:{choice.id}")[0])["Explanation"]
    finally:
        col.close()


def test_selection_by_area_topic_and_due(session: Session, bundled_bank: list) -> None:
    sync_bank(session, bundled_bank)
    learner = accounts.create_user(session, "lea", "lea password")
    now = utcnow()
    first, second = bundled_bank[0].question.id, bundled_bank[1].question.id
    session.add(Card(user_id=learner.id, question_id=first, due=now - timedelta(hours=1)))
    session.add(Card(user_id=learner.id, question_id=second, due=now + timedelta(days=3)))
    session.commit()
    due = exports.select_questions(session, exports.Selection(due_for=learner), now)
    assert [q.id for q in due] == [first]
    topic = exports.select_questions(session, exports.Selection(area="ml", topic="regularization"))
    assert topic and all("regularization" in q.topics and q.area == "ml" for q in topic)
    result = exports.export_file(session, "anki", exports.Selection(area="ml", topic="regularization"))
    assert result.count == len(topic) and result.data[:2] == b"PK"


def test_cli_exports_moodle_and_anki(tmp_path: Path) -> None:
    env_db = tmp_path / "cli.db"
    env = {"DATABASE_URL": f"sqlite:///{env_db}", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
           "INTERVIEW_DATA_DIR": str(tmp_path)}
    root = Path(__file__).resolve().parent.parent
    run = lambda *args: subprocess.run([sys.executable, "-m", "interview", *args], cwd=root, env=env,  # noqa: E731
                                       capture_output=True, text=True, timeout=300)
    assert run("sync").returncode == 0
    out = run("export", "--format", "moodle", "--area", "ml", "--topic", "evaluation-metrics", str(tmp_path / "ml.xml"))
    assert out.returncode == 0, out.stderr
    assert "wrote" in out.stdout and (tmp_path / "ml.xml").read_bytes().startswith(b"<?xml")
    out = run("export", "--format", "anki", "--area", "behavioral", str(tmp_path / "b.apkg"))
    assert out.returncode == 0 and (tmp_path / "b.apkg").stat().st_size > 1000, out.stderr
    fixtures = Path(__file__).parent / "fixtures" / "interop"
    out = run("import", str(fixtures / "moodle_calculated.xml"))
    assert out.returncode == 0, out.stderr
    assert "converted with a note: standard-error-of-a-mean: {s} was log-uniform" in out.stdout
    assert "added 3" in out.stdout
    out = run("import", str(fixtures / "questions.gift"))
    assert out.returncode == 1 and "questions.gift: line 40: not imported: line 40: matching questions" in out.stderr


def test_deck_html_is_sanitised_like_the_app(bundled_bank: list) -> None:
    choice = next(i.question for i in bundled_bank if i.question.kind == "choice" and not i.question.params)
    hostile = choice.model_copy(update={"prompt": "Which one? <script>alert(1)</script><img src=x onerror=alert(2)> $a_1 < b$",
                                        "explanation": choice.explanation + ' <a href="javascript:alert(3)">more</a>'})
    note = anki_export.note_for(hostile)
    text = " ".join(note.fields)
    assert "<script" not in text and "onerror" not in text and "javascript:" not in text
    assert "\\(a_1 &lt; b\\)" in note.fields[1]  # math kept for MathJax
