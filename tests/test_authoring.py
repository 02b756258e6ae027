"""Authoring round trip, versions, all-or-nothing import, export/import equality, item analysis."""
from __future__ import annotations

import io
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlmodel import Session, select

from interview import accounts, authoring, bank, catalog
from interview.item_analysis import analyse
from interview.models import Attempt, Question
from interview.sync import sync_bank
from tests.test_bank_loader import GOOD

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
AUTHORED = GOOD.replace("id: good-question", "id: authored-sum")


def instructor(session: Session):  # type: ignore[no-untyped-def]
    return accounts.create_user(session, "teacher", "teacher password", role="instructor")


def test_invalid_yaml_is_rejected_with_the_message(session: Session) -> None:
    with pytest.raises(authoring.AuthoringError) as info:
        authoring.save(session, instructor(session), AUTHORED.replace("kind: numeric", "kind: numerik"))
    assert any(p.field == "kind" and "must be one of" in p.message for p in info.value.problems)
    assert session.exec(select(Question)).all() == []


def test_variant_errors_block_saving(session: Session) -> None:
    teacher = instructor(session)
    broken = AUTHORED.replace("prompt: What is {a} plus {b}?", "prompt: What is {a} plus {c}?")
    with pytest.raises(authoring.AuthoringError) as info:
        authoring.save(session, teacher, broken)
    assert "'{c}' is not a parameter" in str(info.value)


def test_save_versions_history_and_retire(session: Session) -> None:
    teacher = instructor(session)
    row = authoring.save(session, teacher, AUTHORED, T0)
    assert (row.version, row.origin, row.author_id) == (1, "authored", teacher.id)
    edited = AUTHORED.replace("difficulty: 2", "difficulty: 3")
    row = authoring.save(session, teacher, edited, T0 + timedelta(hours=1), expected_id="authored-sum")
    assert row.version == 2 and catalog.get(session, "authored-sum")[1].difficulty == 3  # learners see v2
    versions = authoring.history(session, "authored-sum")
    assert [v.version for v in versions] == [1, 2]
    assert "-difficulty: 2\n+difficulty: 3" in authoring.diff(versions[0].yaml_text, versions[1].yaml_text)
    with pytest.raises(authoring.AuthoringError, match="must stay"):
        authoring.save(session, teacher, edited.replace("authored-sum", "renamed-sum"), expected_id="authored-sum")
    authoring.retire(session, teacher, "authored-sum")
    with pytest.raises(catalog.NotFound):
        catalog.get(session, "authored-sum")
    assert catalog.get(session, "authored-sum", include_retired=True)[0].status == "retired"


def test_bank_ids_cannot_be_taken_over(session: Session, bundled_bank: list) -> None:
    sync_bank(session, bundled_bank)
    text = (bank.default_bank_path() / "ml" / "f1-from-confusion-counts.yaml").read_text()
    with pytest.raises(authoring.AuthoringError, match="bundled bank"):
        authoring.save(session, instructor(session), text)


def test_import_is_all_or_nothing(session: Session, tmp_path: Path) -> None:
    (tmp_path / "authored-sum.yaml").write_text(AUTHORED)
    (tmp_path / "second-sum.yaml").write_text(AUTHORED.replace("id: authored-sum", "id: second-sum"))
    (tmp_path / "broken.yaml").write_text(AUTHORED.replace("id: authored-sum", "id: broken").replace("kind: numeric", "kind: x"))
    with pytest.raises(authoring.AuthoringError) as info:
        authoring.import_questions(session, [tmp_path], None)
    assert any("broken.yaml" in p.file for p in info.value.problems)
    assert session.exec(select(Question)).all() == []  # nothing imported
    (tmp_path / "broken.yaml").unlink()
    report = authoring.import_questions(session, [tmp_path], None)
    assert sorted(report.added) == ["authored-sum", "second-sum"]


def test_zip_import_refuses_path_escape(session: Session) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("../evil.yaml", AUTHORED)
    with pytest.raises(authoring.AuthoringError, match="escapes"):
        authoring.import_questions(session, buf.getvalue(), None)


def test_export_import_round_trip_equals_original_files(session: Session, tmp_path: Path, engine) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "src"
    src.mkdir()
    originals = {}
    for i, name in enumerate(["alpha-sum", "beta-sum", "gamma-sum"]):
        text = AUTHORED.replace("id: authored-sum", f"id: {name}").replace("difficulty: 2", f"difficulty: {i + 1}")
        (src / f"{name}.yaml").write_text(text)
        originals[name] = text
    teacher = instructor(session)
    progress: list[tuple[int, int]] = []
    authoring.import_questions(session, [src], teacher, progress=lambda i, n, _q: progress.append((i, n)))
    assert progress[-1] == (6, 6)  # checking then writing, reported step by step
    out = tmp_path / "out"
    written = authoring.export_questions(session, out, author=teacher)
    assert {p.stem: p.read_text() for p in written} == originals
    assert all(p.parent.name == "ml" for p in written)


def make_attempt(uid: int, qid: str, score: float, answer: str = "x", seconds: float = 30.0, n: int = 0) -> Attempt:
    return Attempt(id=None, user_id=uid, question_id=qid, seed=0, answer=answer, score=score,
                   verdict="correct" if score == 1 else "incorrect", seconds_taken=seconds,
                   created_at=T0 + timedelta(minutes=n))


def test_item_analysis_against_a_hand_computed_example() -> None:
    table = {1: {"A": 1, "B": 1, "C": 1}, 2: {"A": 1, "B": 0, "C": 1}, 3: {"A": 0, "B": 0, "C": 1}, 4: {"A": 0, "B": 1, "C": 0}}
    attempts = [make_attempt(uid, q, s, answer="42" if s == 0 else "ok", seconds=10 * uid)
                for uid, row in table.items() for q, s in row.items()]
    attempts.append(make_attempt(3, "A", 1.0, n=60))  # a later retry does not change the first-attempt figures
    stats = {s.question_id: s for s in analyse(attempts)}
    assert stats["A"].facility == pytest.approx(0.5) and stats["A"].attempts == 5 and stats["A"].learners == 4
    assert stats["A"].discrimination == pytest.approx(0.57735, abs=1e-4)
    assert stats["B"].discrimination == pytest.approx(-0.30151, abs=1e-4)
    assert "negative discrimination" in stats["B"].flags
    assert stats["C"].facility == pytest.approx(0.75) and stats["C"].discrimination == pytest.approx(0.0, abs=1e-12)
    assert stats["A"].mean_seconds == pytest.approx(25.0)
    assert stats["A"].common_wrong == [("42", 2)]


def test_only_the_owner_or_an_admin_changes_a_question(session: Session, tmp_path: Path) -> None:
    teacher = instructor(session)
    other = accounts.create_user(session, "other", "other password", role="instructor")
    admin = accounts.create_user(session, "root", "root password", role="admin")
    authoring.save(session, teacher, AUTHORED, T0)
    hijack = AUTHORED.replace("difficulty: 2", "difficulty: 5")
    for attempt in (lambda: authoring.save(session, other, hijack, T0),
                    lambda: authoring.save(session, other, hijack, T0, expected_id="authored-sum"),
                    lambda: authoring.retire(session, other, "authored-sum", T0)):
        with pytest.raises(authoring.AuthoringError, match="another instructor's question") as info:
            attempt()
        assert info.value.status == 403
    (tmp_path / "authored-sum.yaml").write_text(hijack)
    with pytest.raises(authoring.AuthoringError, match="another instructor's question"):
        authoring.import_questions(session, [tmp_path], other)
    session.expire_all()
    row = session.get(Question, "authored-sum")
    assert (row.version, row.difficulty, row.status, row.author_id) == (1, 2, "active", teacher.id)  # type: ignore[union-attr]
    # an admin may; the owner stays the creator
    authoring.save(session, admin, hijack, T0 + timedelta(hours=1), expected_id="authored-sum")
    authoring.retire(session, admin, "authored-sum", T0 + timedelta(hours=2))
    row = session.get(Question, "authored-sum")
    assert (row.version, row.status, row.author_id) == (2, "retired", teacher.id)  # type: ignore[union-attr]
    assert [v.author_id for v in authoring.history(session, "authored-sum")] == [teacher.id, admin.id]


def test_the_owner_of_an_import_is_the_importing_account_never_the_file(session: Session, tmp_path: Path) -> None:
    teacher = instructor(session)
    (tmp_path / "authored-sum.yaml").write_text(AUTHORED)
    authoring.import_questions(session, [tmp_path], teacher)
    assert session.get(Question, "authored-sum").author_id == teacher.id  # type: ignore[union-attr]
    (tmp_path / "authored-sum.yaml").write_text(AUTHORED.replace("id: authored-sum", "id: forged-owner") + "author_id: 1\n")
    (tmp_path / "authored-sum.yaml").rename(tmp_path / "forged-owner.yaml")
    with pytest.raises(authoring.AuthoringError, match="author_id: is not a known field"):
        authoring.import_questions(session, [tmp_path], None)
