"""mock.py one level below the routes: formats as data, the server's deadline, grading at the
end, the report and its trend, and the cards the results update. Fixed clock throughout."""
from __future__ import annotations

import random
import threading
from collections import defaultdict
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
import yaml
from sqlmodel import Session, func, select

import graders
from interview import mock, scheduler, stats
from interview.bank import LoadedQuestion
from interview.mock import GRACE, MockError
from interview.models import Attempt, Card, MockFormat, MockInterview, MockItem, Question, Review, User
from interview.scheduler import Rating
from interview.sync import sync_bank

T0 = datetime(2025, 6, 2, 9, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def subset(bundled_bank: list) -> list[LoadedQuestion]:
    """Up to six questions per (area, kind), the shortest first: every default format fits, every
    section's pool also holds questions of other kinds and longer ones it must leave out, and it
    syncs in a fraction of the full bank's time."""
    groups: dict[tuple[str, str], list[LoadedQuestion]] = defaultdict(list)
    for item in bundled_bank:
        groups[(item.question.area, item.question.kind)].append(item)
    out = []
    for items in groups.values():
        out += sorted(items, key=lambda i: (i.question.time_limit, i.question.id))[:6]
    return out


def seed_db(s: Session, subset: list[LoadedQuestion]) -> tuple[User, User]:
    sync_bank(s, subset, now=T0 - timedelta(days=30))
    mock.ensure_formats(s)
    ada, bob = User(name="ada"), User(name="bob")
    s.add_all([ada, bob])
    s.commit()
    s.refresh(ada)
    s.refresh(bob)
    return ada, bob


@pytest.fixture
def world(session: Session, subset: list[LoadedQuestion]) -> tuple[Session, User, User]:
    ada, bob = seed_db(session, subset)
    return session, ada, bob


def count(s: Session, model: type, *where: object) -> int:
    return s.exec(select(func.count()).select_from(model).where(*where)).one()


def reference(view: mock.ItemView) -> str:
    """A right answer, from the full variant (the running view carries display data only)."""
    return graders.reference_answer(view.spec, graders.instantiate(view.spec, view.item.seed))


# ------------------------------------------------------------------------------- formats


def test_default_formats_are_the_yaml_data() -> None:
    raw = yaml.safe_load(mock.DEFAULT_FORMATS.read_text())
    formats = mock.default_formats()
    assert [f.slug for f in formats] == [r["slug"] for r in raw] == ["ml-onsite-60", "phone-screen-20", "quick-5"]
    for f, r in zip(formats, raw):
        assert (f.name, f.minutes) == (r["name"], r["minutes"])
        assert [(s.name, s.areas, s.kinds, s.count, s.max_seconds) for s in f.sections] == \
               [(s["name"], s["areas"], s.get("kinds", []), s["count"], s.get("max_seconds")) for s in r["sections"]]
    onsite = formats[0]
    assert onsite.minutes == 60 and sum(s.count for s in onsite.sections) == 8
    assert [s.name for s in onsite.sections] == ["Coding", "ML concepts", "Math", "System design", "Behavioural"]


def test_ensure_formats_follows_the_file_for_bundled_formats_and_keeps_owned_ones(session: Session) -> None:
    """Bundled formats are read-only in the browser and change through mock_formats.yaml, so
    the file wins over a changed bundled row; a format with an owner is theirs and kept."""
    mock.ensure_formats(session)
    rows = {f.slug: f for f in mock.list_formats(session)}
    assert set(rows) == {"ml-onsite-60", "phone-screen-20", "quick-5"}
    assert [f.minutes for f in mock.list_formats(session)] == [5, 20, 60]  # shortest first
    assert rows["quick-5"].sections[0]["count"] == 3 and rows["quick-5"].sections[0]["areas"] == ["math", "ml"]
    rows["quick-5"].minutes = 7  # changed behind the file's back
    session.add(rows["quick-5"])
    session.delete(rows["phone-screen-20"])
    owner = User(name="teacher", role="instructor")
    session.add(owner)
    session.flush()
    session.add(MockFormat(slug="mine-9", name="Mine", minutes=9, owner_id=owner.id,
                           sections=[{"name": "Math", "areas": ["math"], "count": 1}]))
    session.commit()
    mock.ensure_formats(session)
    session.expire_all()
    assert session.get(MockFormat, "quick-5").minutes == 5
    assert session.get(MockFormat, "phone-screen-20") is not None
    assert session.get(MockFormat, "mine-9").minutes == 9


def test_save_format_owns_new_formats_and_refuses_others(session: Session) -> None:
    mock.ensure_formats(session)
    teacher, other, admin = (User(name=n, role=r) for n, r in (("teacher", "instructor"), ("other", "instructor"), ("root", "admin")))
    session.add_all([teacher, other, admin])
    session.commit()
    text = "name: Tiny mock\nminutes: 3\nsections:\n  - {name: Math, areas: [math], count: 1}\n"
    assert mock.save_format(session, teacher, "tiny-3", text).owner_id == teacher.id
    for user, slug in ((other, "tiny-3"), (teacher, "quick-5"), (admin, "quick-5")):
        with pytest.raises(MockError) as info:
            mock.save_format(session, user, slug, text.replace("minutes: 3", "minutes: 4"))
        assert info.value.status == 403
    assert mock.save_format(session, admin, "tiny-3", text.replace("minutes: 3", "minutes: 4")).owner_id == teacher.id
    assert session.get(MockFormat, "tiny-3").minutes == 4
    # the text is untrusted YAML: aliases and deep nesting are refused with the line, not expanded
    with pytest.raises(MockError, match="line 1, column 7: anchors"):
        mock.save_format(session, teacher, "tiny-3", "name: &a Tiny\nminutes: 3\nsections: [*a]\n")
    with pytest.raises(MockError, match="nested more than 40 levels"):
        mock.save_format(session, teacher, "tiny-3", "sections: " + "[" * 10_000)


def test_a_bad_format_is_refused_with_the_field_named() -> None:
    with pytest.raises(MockError) as exc:
        mock.validate_format({"slug": "x-1", "name": "Broken", "minutes": 10,
                              "sections": [{"name": "S", "areas": ["astrology"], "count": 1}]})
    assert "astrology" in str(exc.value) and exc.value.status == 400
    with pytest.raises(MockError) as exc:
        mock.validate_format({"slug": "x-1", "name": "Broken", "minutes": 10,
                              "sections": [{"name": "S", "areas": ["ml"], "count": 0}]})
    assert "sections.0.count" in str(exc.value)


# ------------------------------------------------------------------------------- starting


@pytest.mark.parametrize("slug", ["ml-onsite-60", "phone-screen-20", "quick-5"])
def test_start_draws_each_sections_count_from_its_areas_and_kinds(world, slug: str) -> None:  # type: ignore[no-untyped-def]
    s, ada, _ = world
    m = mock.start(s, ada, slug, T0, rng=random.Random(1))
    fmt = next(f for f in mock.default_formats() if f.slug == slug)
    items = mock.items_of(s, m)
    assert [i.position for i in items] == list(range(sum(sec.count for sec in fmt.sections)))
    assert len({i.question_id for i in items}) == len(items)  # no question twice
    # sections in the format's order, each with its count
    assert [i.section for i in items] == [sec.name for sec in fmt.sections for _ in range(sec.count)]
    for sec in fmt.sections:
        for item in (i for i in items if i.section == sec.name):
            q = s.get(Question, item.question_id)
            assert q.area in sec.areas and q.status == "active"
            assert not sec.kinds or q.kind in sec.kinds
            assert sec.max_seconds is None or q.time_limit <= sec.max_seconds
    # the format is copied as it was, the mock is running, nothing is graded yet
    assert m.format["slug"] == slug and m.status == "running" and m.score is None
    assert count(s, Attempt) == 0 and count(s, Review) == 0


def test_the_deadline_is_stored_on_the_server(world) -> None:  # type: ignore[no-untyped-def]
    s, ada, _ = world
    engine = s.get_bind()
    m = mock.start(s, ada, "phone-screen-20", T0)
    with Session(engine) as fresh:  # another request, another session: the row is the authority
        row = fresh.get(MockInterview, m.id)
        assert row.started_at == T0 and row.deadline == T0 + timedelta(minutes=20)
        assert row.deadline.tzinfo is not None
    # a reload later resumes with the right time left, whatever the page's timer thinks
    _m, views, left = mock.view(s, ada, m.id, T0 + timedelta(minutes=7, seconds=30))
    assert left == 12.5 * 60 and len(views) == 5


def test_start_refuses_unknown_formats_and_too_small_pools(world) -> None:  # type: ignore[no-untyped-def]
    s, ada, _ = world
    with pytest.raises(MockError) as exc:
        mock.start(s, ada, "no-such-format", T0)
    assert exc.value.status == 404
    s.add(MockFormat(slug="numeric-behaviour", name="Impossible", minutes=10,
                     sections=[{"name": "STAR numbers", "areas": ["behavioral"], "kinds": ["numeric"], "count": 2}]))
    s.commit()
    with pytest.raises(MockError) as exc:
        mock.start(s, ada, "numeric-behaviour", T0)
    assert exc.value.status == 409 and "STAR numbers" in str(exc.value) and "has 0" in str(exc.value)
    assert count(s, MockInterview) == 0 and count(s, MockItem) == 0  # nothing half-made is left


def test_a_second_mock_prefers_questions_not_seen_yet(world) -> None:  # type: ignore[no-untyped-def]
    s, ada, _ = world
    first = mock.start(s, ada, "quick-5", T0, rng=random.Random(3))
    mock.finish(s, ada, first.id, T0 + timedelta(minutes=5))
    second = mock.start(s, ada, "quick-5", T0 + timedelta(days=1), rng=random.Random(3))
    seen = {i.question_id for i in mock.items_of(s, first)}
    assert not seen & {i.question_id for i in mock.items_of(s, second)}


# ------------------------------------------------------------------------------- while running


def test_while_running_nothing_is_graded_and_the_report_is_withheld(world) -> None:  # type: ignore[no-untyped-def]
    s, ada, bob = world
    m = mock.start(s, ada, "quick-5", T0)
    _m, views, _left = mock.view(s, ada, m.id, T0 + timedelta(minutes=1))
    item = mock.save_answer(s, ada, m.id, 0, reference(views[0]), 30, T0 + timedelta(minutes=1))
    assert item.answer == reference(views[0])
    # the running view carries the question and the answer as saved, but no grade, feedback or rating:
    # nothing is graded (no attempt, no review) before the mock is submitted
    m2, views, left = mock.view(s, ada, m.id, T0 + timedelta(minutes=2))
    assert m2.status == "running" and m2.score is None and left == 180
    assert views[0].item.answer == reference(views[0])
    assert all(not hasattr(v, "grade") and not hasattr(v.item, "score") for v in views)
    assert count(s, Attempt) == 0 and count(s, Review) == 0
    # explanations (and the feedback) come only with the report, which waits for the end
    with pytest.raises(MockError) as exc:
        mock.report(s, ada, m.id, T0 + timedelta(minutes=2))
    assert exc.value.status == 409 and "submitted" in str(exc.value)
    # another learner sees none of it
    for call in (lambda: mock.view(s, bob, m.id, T0), lambda: mock.report(s, bob, m.id, T0 + timedelta(hours=1)),
                 lambda: mock.save_answer(s, bob, m.id, 0, "1", 1, T0), lambda: mock.finish(s, bob, m.id, T0)):
        with pytest.raises(MockError) as exc:
            call()
        assert exc.value.status == 404
    assert s.get(MockInterview, m.id).status == "running"


def test_saving_is_accepted_until_deadline_plus_grace_then_refused(world) -> None:  # type: ignore[no-untyped-def]
    s, ada, _ = world
    m = mock.start(s, ada, "quick-5", T0)
    deadline = T0 + timedelta(minutes=5)
    assert m.deadline == deadline
    item = mock.save_answer(s, ada, m.id, 1, "0.5", 40, T0 + timedelta(minutes=2))
    assert (item.answer, item.saved_at, item.seconds_spent) == ("0.5", T0 + timedelta(minutes=2), 40)
    # time spent is capped by the time since the start (a page cannot claim more)
    item = mock.save_answer(s, ada, m.id, 2, "0.25", 10_000, T0 + timedelta(minutes=2))
    assert item.seconds_spent == 120
    assert mock.save_answer(s, ada, m.id, 2, "0.3", -5, T0 + timedelta(minutes=3)).seconds_spent == 0
    # the last save in flight at the buzzer counts: up to the deadline plus the grace
    assert mock.save_answer(s, ada, m.id, 0, "0.75", 60, deadline + GRACE).answer == "0.75"
    with pytest.raises(MockError) as exc:
        mock.save_answer(s, ada, m.id, 0, "0.9", 60, deadline + GRACE + timedelta(milliseconds=1))
    assert exc.value.status == 409 and "Time is up" in str(exc.value)
    with pytest.raises(MockError) as exc:
        mock.save_answer(s, ada, m.id, 7, "1", 1, T0)
    assert exc.value.status == 404  # no such question in this mock
    s.expire_all()
    assert s.get(MockItem, item.id).answer == "0.3"
    assert s.exec(select(MockItem.answer).where(MockItem.mock_id == m.id, MockItem.position == 0)).one() == "0.75"


# ------------------------------------------------------------------------------- finishing


def answer_some(s: Session, user: User, m: MockInterview, at: datetime) -> list[mock.ItemView]:
    """Item 0 right, item 1 unreadable, the rest left blank; each said to take 75% of its limit."""
    _m, views, _left = mock.view(s, user, m.id, at)
    mock.save_answer(s, user, m.id, 0, reference(views[0]), 0.75 * views[0].spec.time_limit, at)
    mock.save_answer(s, user, m.id, 1, "no idea", 0.5 * views[1].spec.time_limit, at)
    return views


def test_finishing_after_the_deadline_grades_answers_as_they_stand(world) -> None:  # type: ignore[no-untyped-def]
    s, ada, _ = world
    m = mock.start(s, ada, "phone-screen-20", T0)
    views = answer_some(s, ada, m, T0 + timedelta(minutes=18))
    late = m.deadline + timedelta(hours=2)  # the learner closed the tab; the next request finishes it
    done = mock.finish(s, ada, m.id, late)
    assert done.status == "submitted" and done.submitted_at == m.deadline + GRACE  # not when someone noticed
    attempts = {a.mock_item_id: a for a in s.exec(select(Attempt)).all()}
    items = mock.items_of(s, m)
    assert len(attempts) == len(items) == 5
    scores = [attempts[i.id].score for i in items]
    assert scores == [1.0, 0.0, 0.0, 0.0, 0.0]
    assert [attempts[i.id].answer for i in items] == [reference(views[0]), "no idea", "", "", ""]
    assert attempts[items[2].id].verdict == "incorrect" and attempts[items[2].id].grade["feedback"] == ["No answer."]
    assert all(a.created_at == m.deadline + GRACE and a.submit_token == f"mock-{a.mock_item_id}" for a in attempts.values())
    assert done.score == pytest.approx(1 / 5)
    # finishing again changes nothing
    again = mock.finish(s, ada, m.id, late + timedelta(days=1))
    assert again.submitted_at == m.deadline + GRACE and again.score == pytest.approx(1 / 5)
    assert count(s, Attempt) == 5 and count(s, Review) == 5
    with pytest.raises(MockError) as exc:
        mock.save_answer(s, ada, m.id, 3, "1", 1, T0 + timedelta(minutes=19))
    assert exc.value.status == 409 and "already submitted" in str(exc.value)


def test_finishing_early_uses_the_moment_of_submission(world) -> None:  # type: ignore[no-untyped-def]
    s, ada, _ = world
    m = mock.start(s, ada, "quick-5", T0)
    answer_some(s, ada, m, T0 + timedelta(minutes=3))
    done = mock.finish(s, ada, m.id, T0 + timedelta(minutes=4))
    assert done.submitted_at == T0 + timedelta(minutes=4) and done.score == pytest.approx(1 / 3)


def test_viewing_a_mock_past_its_deadline_submits_it(world) -> None:  # type: ignore[no-untyped-def]
    s, ada, _ = world
    m = mock.start(s, ada, "quick-5", T0)
    answer_some(s, ada, m, T0 + timedelta(minutes=1))
    # within the grace the page may still save: nothing is submitted yet
    m1, _views, left = mock.view(s, ada, m.id, m.deadline + GRACE)
    assert m1.status == "running" and left == 0.0
    m2, views, left = mock.view(s, ada, m.id, m.deadline + GRACE + timedelta(seconds=1))
    assert m2.status == "submitted" and left == 0.0 and len(views) == 3
    assert m2.score == pytest.approx(1 / 3) and count(s, Review) == 3


def test_mock_results_update_the_learners_cards(world) -> None:  # type: ignore[no-untyped-def]
    s, ada, _ = world
    m = mock.start(s, ada, "phone-screen-20", T0)
    answer_some(s, ada, m, T0 + timedelta(minutes=10))
    # one of the questions already had a card from earlier practice
    items = mock.items_of(s, m)
    old = scheduler.card_for(s, ada.id, items[4].question_id, T0 - timedelta(days=10))
    scheduler.review(s, old, Rating.Good, T0 - timedelta(days=10))
    s.commit()
    finished_at = T0 + timedelta(minutes=15)
    mock.finish(s, ada, m.id, finished_at)
    reviews = s.exec(select(Review).where(Review.reviewed_at == finished_at)).all()
    assert len(reviews) == len(items) == 5
    by_question = {r.question_id: r for r in reviews}
    assert set(by_question) == {i.question_id for i in items}
    attempts = {a.id: a for a in s.exec(select(Attempt).where(Attempt.mock_item_id.is_not(None))).all()}  # type: ignore[union-attr]
    assert all(r.attempt_id in attempts and attempts[r.attempt_id].question_id == r.question_id for r in reviews)
    # right in 75% of the time: Good; unreadable and blank: Again
    assert by_question[items[0].question_id].rating == Rating.Good
    assert [by_question[i.question_id].rating for i in items[1:]] == [Rating.Again] * 4
    cards = {c.question_id: c for c in s.exec(select(Card).where(Card.user_id == ada.id)).all()}
    assert set(cards) == {i.question_id for i in items}  # no duplicate card for the one that existed
    assert cards[items[4].question_id].reps == 2 and cards[items[4].question_id].id == old.id
    assert all(c.last_review == finished_at for c in cards.values())
    assert cards[items[0].question_id].due >= finished_at + timedelta(days=1)


# ------------------------------------------------------------------------------- report


def test_report_has_sections_overall_time_per_question_and_trend(world) -> None:  # type: ignore[no-untyped-def]
    s, ada, bob = world
    # an earlier mock, all blank
    first = mock.start(s, ada, "quick-5", T0 - timedelta(days=3))
    mock.finish(s, ada, first.id, T0 - timedelta(days=3) + timedelta(minutes=5))
    # someone else's mock stays out of ada's trend
    other = mock.start(s, bob, "quick-5", T0 - timedelta(days=1))
    mock.finish(s, bob, other.id, T0 - timedelta(days=1) + timedelta(minutes=1))
    m = mock.start(s, ada, "phone-screen-20", T0)
    views = answer_some(s, ada, m, T0 + timedelta(minutes=12))
    rep = mock.report(s, ada, m.id, m.deadline + timedelta(minutes=1))  # past the deadline: finishes it
    assert rep.mock.status == "submitted"
    assert rep.mock.score == pytest.approx(0.2)
    assert [(sec.name, sec.items) for sec in rep.sections] == [("ML concepts", 3), ("Math", 2)]
    assert [sec.score for sec in rep.sections] == pytest.approx([1 / 3, 0.0])
    assert len(rep.items) == 5
    first_row = rep.items[0]
    assert first_row["score"] == 1.0 and first_row["verdict"] == "correct"
    assert first_row["seconds"] == pytest.approx(0.75 * views[0].spec.time_limit)
    assert first_row["time_limit"] == views[0].spec.time_limit
    assert rep.items[1]["seconds"] == pytest.approx(0.5 * views[1].spec.time_limit)
    assert [r["seconds"] for r in rep.items[2:]] == [0.0, 0.0, 0.0]
    assert [r["answer"] for r in rep.items[2:]] == ["", "", ""] and rep.items[1]["verdict"] == "invalid"
    # now, and only now, the explanation is there for every question
    assert all(r["explanation"] == graders.instantiate(v.spec, v.item.seed).explanation and r["explanation"]
               for r, v in zip(rep.items, views))  # explanations come with the report, not before
    assert [r["prompt"] for r in rep.items] == [v.variant.prompt for v in views]
    # the trend: this learner's submitted mocks, oldest first
    assert [(t["id"], t["format"]) for t in rep.trend] == [(first.id, "Quick check (5 min)"),
                                                          (m.id, "Phone screen (20 min)")]
    assert [t["score"] for t in rep.trend] == pytest.approx([0.0, 0.2])
    assert [t["when"] for t in rep.trend] == [T0 - timedelta(days=3), T0]
    assert [x.id for x in stats.mock_trend(s, ada)] == [first.id, m.id]
    assert [x.id for x in mock.history(s, ada)] == [m.id, first.id]  # newest first


# ------------------------------------------------------------------------------- concurrency


def test_two_concurrent_finishes_grade_once(any_engine: sa.Engine, subset: list[LoadedQuestion],  # type: ignore[no-untyped-def]
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The timer's submit at zero and a click on Finish arrive together: one set of reviews."""
    with Session(any_engine, expire_on_commit=False) as s:
        ada, _ = seed_db(s, subset)
        m = mock.start(s, ada, "quick-5", T0)
        answer_some(s, ada, m, T0 + timedelta(minutes=2))
    barrier = threading.Barrier(2, timeout=20)
    real_get = mock.get_mock

    def get_then_wait(*args, **kwargs):  # type: ignore[no-untyped-def]
        found = real_get(*args, **kwargs)
        if threading.current_thread() is not threading.main_thread():
            barrier.wait()  # both have read "running" before either writes
        return found

    monkeypatch.setattr(mock, "get_mock", get_then_wait)
    results, errors = [], []

    def finish() -> None:
        try:
            with Session(any_engine, expire_on_commit=False) as own:
                results.append(mock.finish(own, own.get(User, ada.id), m.id, T0 + timedelta(minutes=5)))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=finish) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert [r.status for r in results] == ["submitted", "submitted"]
    with Session(any_engine) as s:
        assert count(s, Attempt) == 3 and count(s, Review) == 3
        assert s.exec(select(Card.reps).where(Card.user_id == ada.id)).all() == [1, 1, 1]
        assert s.get(MockInterview, m.id).score == pytest.approx(1 / 3)


def test_the_running_view_carries_no_hints_explanations_or_answers(world: tuple[Session, User, User]) -> None:
    s, ada, _bob = world
    started = mock.start(s, ada, "ml-onsite-60", T0)
    _m, views, _left = mock.view(s, ada, started.id, T0 + timedelta(minutes=1))
    for v in views:
        assert v.variant.hints == [] and v.variant.explanation == ""
        assert not {"expected", "correct", "reference", "model_answer", "hidden", "points"} & set(v.variant.data)
        assert all(set(o) == {"label", "text"} for o in v.variant.data.get("options", []))
