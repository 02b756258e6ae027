"""`sync` upserts by id and content hash, retires what left the bank, and is idempotent."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from interview import bank
from interview.models import Question, QuestionVersion
from interview.sync import sync_bank

from tests.test_bank_loader import GOOD


def make_bank(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "good-question.yaml").write_text(GOOD)
    (folder / "second-one.yaml").write_text(GOOD.replace("id: good-question", "id: second-one"))


def run(engine: sa.Engine, folder: Path):  # type: ignore[no-untyped-def]
    loaded, problems = bank.load_bank([folder])
    assert problems == []
    with Session(engine, expire_on_commit=False) as s:
        return sync_bank(s, loaded)


def test_sync_added_changed_unchanged_retired(any_engine: sa.Engine, tmp_path: Path) -> None:
    folder = tmp_path / "bank"
    make_bank(folder)
    first = run(any_engine, folder)
    assert sorted(first.added) == ["good-question", "second-one"] and not first.changed
    again = run(any_engine, folder)
    assert again.added == [] and again.changed == [] and again.retired == []
    assert sorted(again.unchanged) == ["good-question", "second-one"]

    (folder / "good-question.yaml").write_text(GOOD.replace("difficulty: 2", "difficulty: 3"))
    (folder / "second-one.yaml").unlink()
    third = run(any_engine, folder)
    assert third.changed == ["good-question"] and third.retired == ["second-one"]
    with Session(any_engine) as s:
        q = s.get(Question, "good-question")
        assert q is not None and q.version == 2 and q.difficulty == 3
        retired = s.get(Question, "second-one")
        assert retired is not None and retired.status == "retired"  # kept, never deleted
        versions = s.exec(select(QuestionVersion).where(QuestionVersion.question_id == "good-question")).all()
        assert sorted(v.version for v in versions) == [1, 2]
    fourth = run(any_engine, folder)
    assert fourth.changed == [] and fourth.retired == [] and fourth.added == []


def test_sync_of_the_bundled_bank_is_idempotent(engine: sa.Engine, tmp_path: Path) -> None:
    folder = tmp_path / "copy"
    shutil.copytree(bank.default_bank_path(), folder, ignore=shutil.ignore_patterns("*.md"))
    loaded, _ = bank.load_bank([folder])
    with Session(engine) as s:
        sync_bank(s, loaded)
    with Session(engine) as s:
        report = sync_bank(s, loaded)
    assert report.added == [] and report.changed == [] and report.retired == []
    assert len(report.unchanged) == len(loaded) > 0


def test_the_question_index_sees_an_edit_at_once(session, bundled_bank) -> None:  # type: ignore[no-untyped-def]
    from interview import catalog
    from interview.models import Question

    sync_bank(session, bundled_bank[:5])
    before = catalog.index_fingerprint(session)
    assert catalog.index_fingerprint(session) == before  # reused within the second
    row = session.get(Question, bundled_bank[0].question.id)
    row.status = "retired"
    session.add(row)
    session.commit()  # the commit hook forgets the cached fingerprint
    assert catalog.index_fingerprint(session) != before
    assert bundled_bank[0].question.id not in {r[0] for r in catalog.active_index(session)}


def test_catalog_get_reuses_a_row_until_the_database_changes_it(engine: sa.Engine, bundled_bank) -> None:  # type: ignore[no-untyped-def]
    from datetime import datetime, timezone

    from interview import catalog

    qid = bundled_bank[0].question.id
    with Session(engine) as s:
        sync_bank(s, bundled_bank[:5])
    with Session(engine) as reader:
        first, _ = catalog.get(reader, qid)
    with Session(engine) as reader:
        again, _ = catalog.get(reader, qid)
        assert again is first  # reused by the next request: the stamp (version, status, updated_at) is unchanged
        mine = reader.get(Question, qid)
        assert mine is not first and mine in reader  # the caller's session keeps its own instance
        catalog.get(reader, qid)
        assert mine in reader
    with Session(engine) as writer:  # another connection edits the row: seen on the next read
        row = writer.get(Question, qid)
        row.version, row.title, row.updated_at = row.version + 1, "Edited", datetime.now(timezone.utc)
        writer.add(row)
        writer.commit()
    with Session(engine) as reader:
        edited, _ = catalog.get(reader, qid)
        assert (edited.version, edited.title) == (first.version + 1, "Edited")
    with Session(engine) as writer:
        row = writer.get(Question, qid)
        row.status = "retired"
        writer.add(row)
        writer.commit()
    with Session(engine) as reader:
        with pytest.raises(catalog.NotFound):
            catalog.get(reader, qid)
        retired, _ = catalog.get(reader, qid, include_retired=True)
        assert retired.status == "retired"
