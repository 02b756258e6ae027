"""cohorts.py one level below the routes: join codes, membership, the instructor's overview with
who is falling behind (hand-made cards and reviews on a fixed clock), and assigned mocks.

The overview counts with SQL against timestamps, so it runs on SQLite and PostgreSQL."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlmodel import Session, func, select

from interview import cohorts, mock
from interview.cohorts import BEHIND_BACKLOG, BEHIND_DAYS, JOIN_ALPHABET, CohortError
from interview.models import Card, Cohort, CohortMember, MockInterview, Question, Review, User
from interview.sync import sync_bank

NOW = datetime(2025, 6, 2, 9, 0, tzinfo=timezone.utc)


def add_users(s: Session, *names: str, role: str = "learner") -> list[User]:
    users = [User(name=n, role=role) for n in names]
    s.add_all(users)
    s.commit()
    for u in users:
        s.refresh(u)
    return users


def add_questions(s: Session, n: int) -> list[str]:
    ids = [f"q{i:03d}" for i in range(n)]
    s.add_all([Question(id=q, content_hash="h" * 64, title=q, area="ml", topics=["evaluation-metrics"],
                        kind="numeric", difficulty=2, time_limit=120, yaml_text=f"id: {q}") for q in ids])
    s.commit()
    return ids


def add_card(s: Session, user: User, qid: str, due: datetime, reviewed: list[datetime] = ()) -> Card:  # type: ignore[assignment]
    card = Card(user_id=user.id, question_id=qid, state=2, step=None, stability=3.0, difficulty=5.0, due=due,
                last_review=max(reviewed) if reviewed else None, reps=len(reviewed), created_at=NOW - timedelta(days=60))
    s.add(card)
    s.flush()
    for at in reviewed:
        s.add(Review(card_id=card.id, user_id=user.id, question_id=qid, rating=3, reviewed_at=at,
                     stability=3.0, difficulty=5.0, due_after=due))
    return card


# ------------------------------------------------------------------------------- creating and joining


def test_create_gives_a_readable_unique_join_code(session: Session) -> None:
    (teacher,) = add_users(session, "teacher", role="instructor")
    a = cohorts.create(session, teacher, "  Spring 2025 ML  ")
    b = cohorts.create(session, teacher, "Autumn cohort")
    assert a.name == "Spring 2025 ML" and a.instructor_id == teacher.id and a.id is not None
    for c in (a, b):
        assert len(c.join_code) == 8 and set(c.join_code) <= set(JOIN_ALPHABET)
        assert not set(c.join_code) & set("01OI")
    assert a.join_code != b.join_code
    assert [c.name for c in cohorts.of_instructor(session, teacher)] == ["Autumn cohort", "Spring 2025 ML"]
    for bad in ("", " x ", "y" * 121):
        with pytest.raises(CohortError) as exc:
            cohorts.create(session, teacher, bad)
        assert exc.value.status == 400 and "2 to 120" in str(exc.value)
    assert session.exec(select(func.count()).select_from(Cohort)).one() == 2


def test_owned_is_only_the_instructors_own(session: Session) -> None:
    t1, t2 = add_users(session, "t1", "t2", role="instructor")
    c = cohorts.create(session, t1, "Mine")
    assert cohorts.owned(session, t1, c.id).id == c.id
    for who, cid in ((t2, c.id), (t1, c.id + 99)):
        with pytest.raises(CohortError) as exc:
            cohorts.owned(session, who, cid)
        assert exc.value.status == 404
    assert cohorts.of_instructor(session, t2) == []


def test_join_with_the_code_and_joining_twice_is_idempotent(any_engine: sa.Engine) -> None:
    with Session(any_engine, expire_on_commit=False) as s:
        teacher, = add_users(s, "teacher", role="instructor")
        ada, bob = add_users(s, "ada", "bob")
        c = cohorts.create(s, teacher, "Cohort A")
        other = cohorts.create(s, teacher, "Cohort B")
        with pytest.raises(CohortError) as exc:
            cohorts.join(s, ada, "WRONGCOD", NOW)
        assert exc.value.status == 404 and "join code" in str(exc.value)
        for empty in ("", None):
            with pytest.raises(CohortError):
                cohorts.join(s, ada, empty, NOW)  # type: ignore[arg-type]
        assert cohorts.member_ids(s, c) == []
        # codes are typed by people: case and surrounding spaces do not matter
        assert cohorts.join(s, ada, f"  {c.join_code.lower()} ", NOW).id == c.id
        assert cohorts.join(s, ada, c.join_code, NOW + timedelta(days=1)).id == c.id  # again: same cohort
        assert cohorts.member_ids(s, c) == [ada.id]
        member = s.get(CohortMember, (c.id, ada.id))
        assert member.joined_at == NOW  # the first join stands
        cohorts.join(s, bob, c.join_code, NOW)
        cohorts.join(s, ada, other.join_code, NOW)
        assert sorted(cohorts.member_ids(s, c)) == sorted([ada.id, bob.id])
        assert cohorts.member_ids(s, other) == [ada.id]


def test_two_simultaneous_joins_make_one_membership(any_engine: sa.Engine) -> None:
    with Session(any_engine, expire_on_commit=False) as s:
        teacher, = add_users(s, "teacher", role="instructor")
        ada, = add_users(s, "ada")
        c = cohorts.create(s, teacher, "Cohort A")
    barrier = threading.Barrier(2, timeout=20)
    joined, errors = [], []

    def join() -> None:
        try:
            with Session(any_engine, expire_on_commit=False) as own:
                # hold both at their first write: each has already found no membership
                sa.event.listen(own, "before_flush", lambda *_: barrier.wait())
                joined.append(cohorts.join(own, own.get(User, ada.id), c.join_code, NOW).id)  # read in-session
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=join) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert joined == [c.id, c.id]
    with Session(any_engine) as s:
        assert s.exec(select(func.count()).select_from(CohortMember)).one() == 1


# ------------------------------------------------------------------------------- the overview


def test_overview_shows_progress_and_flags_who_is_falling_behind(any_engine: sa.Engine) -> None:
    with Session(any_engine, expire_on_commit=False) as s:
        teacher, = add_users(s, "teacher", role="instructor")
        ann, ben, cal, dee, eve, zed = add_users(s, "ann", "ben", "cal", "dee", "eve", "zed")
        qs = add_questions(s, 40)
        c = cohorts.create(s, teacher, "Cohort A")
        for u in (ann, ben, cal, dee, eve):
            cohorts.join(s, u, c.join_code, NOW - timedelta(days=20))
        # ann: on track. Practised yesterday and two days ago, five cards overdue, three not due yet
        for i, q in enumerate(qs[:5]):
            add_card(s, ann, q, NOW - timedelta(hours=i + 1), [NOW - timedelta(days=10)])
        add_card(s, ann, qs[5], NOW + timedelta(days=3), [NOW - timedelta(days=1), NOW - timedelta(days=2)])
        add_card(s, ann, qs[6], NOW + timedelta(days=5), [NOW - timedelta(days=8)])
        add_card(s, ann, qs[7], NOW + timedelta(days=9))
        # ben: active an hour ago, but exactly the backlog threshold of cards overdue
        for q in qs[:BEHIND_BACKLOG]:
            add_card(s, ben, q, NOW - timedelta(days=2), [NOW - timedelta(days=12)])
        add_card(s, ben, qs[BEHIND_BACKLOG], NOW + timedelta(days=4), [NOW - timedelta(hours=1)])
        # cal: nothing overdue, last review five days ago
        add_card(s, cal, qs[0], NOW + timedelta(days=6), [NOW - timedelta(days=5)])
        # dee: joined, never reviewed anything
        # eve: one short of the backlog, and a card due this very moment (not overdue yet); her last
        # review exactly the inactivity threshold ago
        for q in qs[:BEHIND_BACKLOG - 1]:
            add_card(s, eve, q, NOW - timedelta(minutes=1), [NOW - timedelta(days=BEHIND_DAYS + 5)])
        add_card(s, eve, qs[BEHIND_BACKLOG - 1], NOW, [NOW - timedelta(days=BEHIND_DAYS)])
        # zed is not a member: a huge backlog that must not show up
        for q in qs:
            add_card(s, zed, q, NOW - timedelta(days=30))
        # mocks: ann's two submitted ones, in the order she sat them; a running one does not count
        for days, score, status in ((9, 0.4, "submitted"), (3, 0.7, "submitted"), (0, None, "running")):
            s.add(MockInterview(user_id=ann.id, format_slug="quick-5", format={"name": "Quick"}, status=status,
                                started_at=NOW - timedelta(days=days), deadline=NOW - timedelta(days=days) +
                                timedelta(minutes=5), score=score))
        s.commit()

        rows = cohorts.overview(s, c, NOW, mastery_of=lambda u: {"ml": len(u.name) / 10})

    by_name = {r.user.name: r for r in rows}
    assert set(by_name) == {"ann", "ben", "cal", "dee", "eve"}
    # those behind first (by name), then the rest
    assert [r.user.name for r in rows] == ["ben", "cal", "dee", "eve", "ann"]

    ann_row = by_name["ann"]
    assert ann_row.behind == []
    assert ann_row.backlog == 5
    assert ann_row.days_inactive == pytest.approx(1.0)
    assert ann_row.reviews_7d == 2
    assert ann_row.mock_scores == pytest.approx([0.4, 0.7])
    assert ann_row.mastery == {"ml": 0.3}

    assert by_name["ben"].backlog == BEHIND_BACKLOG
    assert by_name["ben"].behind == [f"{BEHIND_BACKLOG} reviews overdue"]
    assert by_name["ben"].days_inactive == pytest.approx(1 / 24) and by_name["ben"].reviews_7d == 1

    assert by_name["cal"].behind == ["inactive 5 days"] and by_name["cal"].backlog == 0
    assert by_name["cal"].days_inactive == pytest.approx(5.0) and by_name["cal"].reviews_7d == 1

    assert by_name["dee"].behind == ["no reviews yet"]
    assert (by_name["dee"].backlog, by_name["dee"].days_inactive, by_name["dee"].reviews_7d) == (0, None, 0)
    assert by_name["dee"].mock_scores == []

    eve_row = by_name["eve"]
    assert eve_row.backlog == BEHIND_BACKLOG - 1  # the card due at NOW is not overdue
    assert eve_row.behind == [f"inactive {BEHIND_DAYS} days"]  # the threshold itself counts as behind
    assert eve_row.days_inactive == pytest.approx(BEHIND_DAYS) and eve_row.reviews_7d == 1


def test_overview_without_a_mastery_function_and_catching_up(session: Session) -> None:
    teacher, = add_users(session, "teacher", role="instructor")
    ada, = add_users(session, "ada")
    qs = add_questions(session, 3)
    c = cohorts.create(session, teacher, "Cohort A")
    cohorts.join(session, ada, c.join_code, NOW - timedelta(days=30))
    add_card(session, ada, qs[0], NOW - timedelta(days=1), [NOW - timedelta(days=6)])
    session.commit()
    (row,) = cohorts.overview(session, c, NOW)
    assert row.mastery == {} and row.behind == ["inactive 6 days"] and row.backlog == 1
    # a review today clears the flag
    card = session.exec(select(Card)).one()
    session.add(Review(card_id=card.id, user_id=ada.id, question_id=qs[0], rating=3,
                       reviewed_at=NOW - timedelta(hours=2), due_after=NOW + timedelta(days=3)))
    card.due = NOW + timedelta(days=3)
    session.add(card)
    session.commit()
    (row,) = cohorts.overview(session, c, NOW)
    assert row.behind == [] and row.backlog == 0 and row.reviews_7d == 2
    assert row.days_inactive == pytest.approx(2 / 24)


# ------------------------------------------------------------------------------- assigned mocks


@pytest.fixture
def quick_bank(bundled_bank: list) -> list:
    """Enough short choice/numeric ML and maths questions for the quick-5 format, nothing else."""
    fit = [i for i in bundled_bank if i.question.area in ("ml", "math") and i.question.kind in ("choice", "numeric")
           and i.question.time_limit <= 180]
    return sorted(fit, key=lambda i: i.question.id)[:8]


def test_assign_a_mock_with_a_due_date_and_sit_it(any_engine: sa.Engine, quick_bank: list) -> None:
    with Session(any_engine, expire_on_commit=False) as s:
        sync_bank(s, quick_bank, now=NOW - timedelta(days=30))
        mock.ensure_formats(s)
        teacher, = add_users(s, "teacher", role="instructor")
        ada, bob = add_users(s, "ada", "bob")
        c = cohorts.create(s, teacher, "Cohort A")
        elsewhere = cohorts.create(s, teacher, "Cohort B")
        cohorts.join(s, ada, c.join_code, NOW)
        cohorts.join(s, bob, elsewhere.join_code, NOW)

        with pytest.raises(CohortError) as exc:
            cohorts.assign_mock(s, c, "no-such-format", NOW + timedelta(days=7))
        assert exc.value.status == 404
        later = cohorts.assign_mock(s, c, "ml-onsite-60", NOW + timedelta(days=14))
        due = NOW + timedelta(days=7, hours=8, minutes=30)
        soon = cohorts.assign_mock(s, c, "quick-5", due)
        cohorts.assign_mock(s, elsewhere, "phone-screen-20", NOW + timedelta(days=1))

    with Session(any_engine, expire_on_commit=False) as s:
        ada, bob = s.get(User, ada.id), s.get(User, bob.id)
        mine = cohorts.assignments_for(s, ada)
        # the member's cohort's assignments only, soonest due first, not yet done
        assert [(a.id, a.format_slug, co.name, done) for a, co, done in mine] == \
               [(soon.id, "quick-5", "Cohort A", False), (later.id, "ml-onsite-60", "Cohort A", False)]
        assert mine[0][0].due == due and mine[0][0].due.tzinfo is not None  # stored as the instant it was set

        # someone outside the cohort cannot sit it
        with pytest.raises(mock.MockError) as exc:
            mock.start(s, bob, "quick-5", NOW, assignment_id=soon.id)
        assert exc.value.status == 403
        # sitting the assignment uses its format, whatever the form says, and links the mock to it
        m = mock.start(s, ada, "ml-onsite-60", NOW + timedelta(days=1), assignment_id=soon.id)
        assert m.format_slug == "quick-5" and m.assignment_id == soon.id
        assert len(mock.items_of(s, m)) == 3
        assert [done for _a, _c, done in cohorts.assignments_for(s, ada)] == [False, False]  # running is not done
        mock.finish(s, ada, m.id, NOW + timedelta(days=1, minutes=5))
        assert [done for _a, _c, done in cohorts.assignments_for(s, ada)] == [True, False]
        # and the instructor's overview shows the result
        (row,) = cohorts.overview(s, s.get(Cohort, c.id), NOW + timedelta(days=1, minutes=10))
        assert row.user.id == ada.id and row.mock_scores == [0.0] and row.reviews_7d == 3
