"""Accounts: hashing, names, deletion, and the export/import round trip losing nothing."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from interview import accounts, db
from interview.models import Attempt, Card, MockInterview, MockItem, Review, User
from interview.sync import sync_bank

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=timezone.utc)
QID = "f1-from-confusion-counts"


def seed_history(session: Session, bundled_bank: list) -> User:
    sync_bank(session, bundled_bank, T0)
    user = accounts.create_user(session, "grace", "correct horse battery")
    user.interview_date, user.minutes_per_day, user.areas = date(2026, 6, 1), 45, ["ml"]
    card = Card(user_id=user.id, question_id=QID, state=2, step=None, stability=3.5, difficulty=5.1,
                due=T0 + timedelta(days=3), last_review=T0, reps=2, lapses=1)
    session.add(card)
    session.flush()
    mock = MockInterview(user_id=user.id, format_slug="quick-5", format={"name": "Quick"}, started_at=T0,
                         deadline=T0 + timedelta(minutes=5), submitted_at=T0 + timedelta(minutes=4),
                         status="submitted", score=0.5)
    session.add(mock)
    session.flush()
    item = MockItem(mock_id=mock.id, position=0, section="Mixed", question_id=QID, seed=7, answer="0.5",
                    saved_at=T0, seconds_spent=40.0)
    session.add(item)
    session.flush()
    attempt = Attempt(user_id=user.id, question_id=QID, seed=7, answer="0.5", score=0.0, verdict="incorrect",
                      grade={"feedback": ["no"]}, seconds_taken=40.0, mock_item_id=item.id, created_at=T0,
                      submit_token="abc")
    session.add(attempt)
    session.flush()
    for i in range(3):
        session.add(Review(card_id=card.id, user_id=user.id, question_id=QID, rating=3 - (i % 2),
                           reviewed_at=T0 + timedelta(days=i), seconds_taken=30.0 + i, stability=1.0 + i,
                           difficulty=5.0, due_after=T0 + timedelta(days=i + 1), attempt_id=attempt.id if i == 0 else None))
    session.commit()
    return user


def strip_ids(doc: dict) -> dict:
    """The parts of an export that must survive a round trip (ids are renumbered)."""
    def clean(rows: list[dict], drop: tuple[str, ...]) -> list[dict]:
        return [{k: v for k, v in r.items() if k not in drop} for r in rows]

    return {  # the account's name, role and creation time are the importing instance's
        "user": {k: v for k, v in doc["user"].items() if k not in ("name", "role", "created_at")},
        "cards": clean(doc["cards"], ("id",)),
        "reviews": clean(doc["reviews"], ("id", "card_id", "attempt_id")),
        "attempts": clean(doc["attempts"], ("id", "mock_item_id", "submit_token")),
        "mocks": clean(doc["mocks"], ("id", "status")),  # an imported mock is history: status "imported"
        "mock_items": clean(doc["mock_items"], ("id", "mock_id")),
        "links": [(r["attempt_id"] is not None) for r in doc["reviews"]],
    }


def test_passwords_are_hashed_and_checked(session: Session) -> None:
    user = accounts.create_user(session, "ada", "a long password")
    assert user.password_hash and "a long password" not in user.password_hash
    assert accounts.authenticate(session, "ada", "a long password") is not None
    assert accounts.authenticate(session, "ada", "wrong password") is None
    assert accounts.authenticate(session, "nobody", "a long password") is None
    with pytest.raises(accounts.AccountError, match="taken"):
        accounts.create_user(session, "ada", "another password")
    with pytest.raises(accounts.AccountError, match="at least 8"):
        accounts.create_user(session, "bob", "short")
    with pytest.raises(accounts.AccountError, match="user name"):
        accounts.create_user(session, "<script>", "a long password")


def test_export_import_round_trip_into_a_fresh_instance(engine: sa.Engine, tmp_path, bundled_bank: list) -> None:  # type: ignore[no-untyped-def]
    with Session(engine, expire_on_commit=False) as s:
        user = seed_history(s, bundled_bank)
        exported = accounts.export_user(s, user)
    fresh = db.make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    db.migrate(fresh)
    with Session(fresh, expire_on_commit=False) as s:
        sync_bank(s, bundled_bank, T0)
        imported = accounts.import_user(s, exported, password="new password 1")
        again = accounts.export_user(s, imported)
        assert accounts.authenticate(s, "grace", "new password 1") is not None
        review = s.exec(select(Review).where(Review.user_id == imported.id, Review.attempt_id.is_not(None))).one()  # type: ignore[union-attr]
        assert s.get(Attempt, review.attempt_id).user_id == imported.id  # type: ignore[union-attr]
    assert strip_ids(again) == strip_ids(exported)
    assert [m["status"] for m in again["mocks"]] == ["imported"]
    assert len(again["reviews"]) == 3 and again["user"]["interview_date"] == "2026-06-01"


def test_import_refuses_damaged_or_foreign_files(session: Session, bundled_bank: list) -> None:
    with pytest.raises(accounts.AccountError, match="not an interview export"):
        accounts.import_user(session, {"hello": 1})
    user = seed_history(session, bundled_bank)
    doc = accounts.export_user(session, user)
    with pytest.raises(accounts.AccountError, match="taken"):
        accounts.import_user(session, doc)
    doc["reviews"][0]["card_id"] = 999999
    with pytest.raises(accounts.AccountError, match=r"reviews\[0\]\.card_id: no card 999999 in the file"):
        accounts.import_user(session, doc, name="grace2")
    assert session.exec(select(User).where(User.name == "grace2")).first() is None  # nothing half-imported


def test_delete_removes_only_that_learner(session: Session, bundled_bank: list) -> None:
    user = seed_history(session, bundled_bank)
    other = accounts.create_user(session, "other", "a long password")
    session.add(Card(user_id=other.id, question_id=QID, due=T0))
    session.commit()
    accounts.delete_user(session, user)
    assert session.exec(select(Review)).all() == []
    assert session.exec(select(MockItem)).all() == []
    assert [c.user_id for c in session.exec(select(Card)).all()] == [other.id]


def test_deleting_an_instructor_hands_cohorts_to_an_admin_or_refuses(any_engine: sa.Engine) -> None:
    """No foreign key fails on either database: the cohort goes to an admin (refused, naming it,
    while there is none); questions, their versions and formats stay, with no owner."""
    from tests.test_bank_loader import GOOD

    from interview import authoring, cohorts
    from interview.models import Cohort, CohortMember, MockFormat, Question, QuestionVersion

    with Session(any_engine, expire_on_commit=False) as s:
        teacher = accounts.create_user(s, "teacher", "teacher password", role="instructor")
        learner = accounts.create_user(s, "learner", "learner password")
        cohort = cohorts.create(s, teacher, "Spring cohort")
        cohorts.join(s, learner, cohort.join_code, T0)
        authoring.save(s, teacher, GOOD, T0)
        s.add(MockFormat(slug="mine-3", name="Mine", minutes=3, owner_id=teacher.id,
                         sections=[{"name": "Math", "areas": ["math"], "count": 1}]))
        s.commit()
        with pytest.raises(accounts.AccountError, match="'Spring cohort'.*no admin"):
            accounts.delete_user(s, teacher)
        s.rollback()
        assert s.get(User, teacher.id) is not None
        admin_id, learner_id = accounts.create_user(s, "root", "root password", role="admin").id, learner.id
        note = accounts.delete_user(s, teacher)
        assert note == "Cohort(s) 'Spring cohort' were handed to the admin 'root'."
    with Session(any_engine) as s:
        assert s.exec(select(User.name).order_by(User.name)).all() == ["learner", "root"]
        assert s.exec(select(Cohort.instructor_id)).one() == admin_id
        assert s.exec(select(CohortMember.user_id)).one() == learner_id
        assert s.exec(select(Question.author_id)).one() is None
        assert s.exec(select(QuestionVersion.author_id)).one() is None
        assert s.exec(select(MockFormat.owner_id)).one() is None
