"""practice.py one level below the routes: present, submit, replay, rate, on a fixed clock.

Real services over a real migrated SQLite file; what depends on SQL (the unique submit token
under two concurrent sessions) also runs on PostgreSQL through `any_engine`.
"""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlmodel import Session, func, select

import graders
from interview import bank, practice, stats
from interview.bank import LoadedQuestion
from interview.models import Attempt, Card, Question, Review, User
from interview.practice import PracticeError
from interview.scheduler import Rating
from interview.sync import apply_question, sync_bank

T0 = datetime(2025, 6, 2, 9, 0, tzinfo=timezone.utc)
SECRET = "practice-test-secret"


def first_of(loaded: list[LoadedQuestion], kind: str, area: str | None = None) -> LoadedQuestion:
    return min((item for item in loaded if item.question.kind == kind and (area is None or item.question.area == area)),
               key=lambda item: item.question.id)


@pytest.fixture
def picks(bundled_bank: list) -> dict[str, LoadedQuestion]:
    """A numeric, a choice and a rubric question: enough for the practice paths, quick to sync."""
    return {"numeric": first_of(bundled_bank, "numeric", "ml"), "choice": first_of(bundled_bank, "choice"),
            "rubric": first_of(bundled_bank, "rubric")}


def seed_db(s: Session, picks: dict[str, LoadedQuestion]) -> tuple[User, User]:
    sync_bank(s, list(picks.values()), now=T0 - timedelta(days=30))
    ada, bob = User(name="ada"), User(name="bob")
    s.add_all([ada, bob])
    s.commit()
    s.refresh(ada)
    s.refresh(bob)
    return ada, bob


@pytest.fixture
def world(session: Session, picks: dict[str, LoadedQuestion]) -> tuple[Session, User, User]:
    ada, bob = seed_db(session, picks)
    return session, ada, bob


def right_answer(shown: practice.Presented) -> str:
    """From the full variant: the shown one carries display data only."""
    return graders.reference_answer(shown.spec, graders.instantiate(shown.spec, shown.variant.seed))


def count(s: Session, model: type, *where: object) -> int:
    return s.exec(select(func.count()).select_from(model).where(*where)).one()


# ------------------------------------------------------------------------------- present


def test_present_gives_a_fresh_variant_and_a_signed_token(world, picks) -> None:  # type: ignore[no-untyped-def]
    s, ada, _ = world
    qid = picks["numeric"].question.id
    a = practice.present(s, ada, SECRET, T0, question_id=qid)
    b = practice.present(s, ada, SECRET, T0, question_id=qid)
    assert a is not None and b is not None
    assert a.row.id == qid and a.spec.id == qid and a.is_new
    assert a.variant.question_id == qid and a.variant.prompt
    # the token is signed and names this learner, question, version and seed
    data = practice.read_token(SECRET, a.token, ada)
    assert (data["u"], data["q"], data["v"], data["s"]) == (ada.id, qid, a.row.version, a.variant.seed)
    assert data["t"] == T0.timestamp()
    # every showing has its own nonce (and, almost surely, its own numbers)
    assert practice.read_token(SECRET, b.token, ada)["n"] != data["n"]
    assert a.token != b.token
    # the seed in the token reproduces exactly the variant that was shown
    assert graders.instantiate(a.spec, data["s"]).for_display(explanation=False) == a.variant
    assert a.variant.explanation == "" and not {"expected", "correct", "reference"} & set(a.variant.data)
    # nothing is recorded by merely showing a question
    assert count(s, Attempt) == 0 and count(s, Card) == 0


def test_present_without_a_question_takes_the_head_of_todays_queue(world, picks) -> None:  # type: ignore[no-untyped-def]
    s, ada, _ = world
    shown = practice.present(s, ada, SECRET, T0)
    assert shown is not None and shown.is_new
    assert shown.row.id in {p.question.id for p in picks.values()}
    # a learner with nothing to do gets None
    ada.new_per_day = 0
    s.add(ada)
    s.commit()
    assert practice.present(s, ada, SECRET, T0) is None


# ------------------------------------------------------------------------------- submit


def test_submit_records_one_attempt_and_one_review_and_moves_the_card(world, picks) -> None:  # type: ignore[no-untyped-def]
    s, ada, _ = world
    shown = practice.present(s, ada, SECRET, T0, question_id=picks["numeric"].question.id)
    limit = shown.spec.time_limit
    at = T0 + timedelta(seconds=0.75 * limit)  # full marks in time, not quick: Good
    out = practice.submit(s, ada, SECRET, shown.token, right_answer(shown), False, at)
    assert not out.duplicate
    assert out.grade.verdict == "correct" and out.grade.score == 1.0
    assert out.rating == out.suggested_rating == Rating.Good
    assert out.variant.for_display(explanation=False) == shown.variant
    att = out.attempt
    assert att.id is not None and att.user_id == ada.id and att.question_id == shown.row.id
    assert att.seed == shown.variant.seed and att.question_version == shown.row.version
    assert att.seconds_taken == pytest.approx(0.75 * limit)  # measured by the server from the token
    assert att.created_at == at
    assert count(s, Attempt) == 1
    reviews = s.exec(select(Review)).all()
    assert len(reviews) == 1
    r = reviews[0]
    assert (r.user_id, r.question_id, r.rating, r.attempt_id) == (ada.id, shown.row.id, int(Rating.Good), att.id)
    assert r.reviewed_at == at and r.seconds_taken == pytest.approx(0.75 * limit)
    card = s.exec(select(Card).where(Card.user_id == ada.id)).one()
    assert card.id == r.card_id and card.reps == 1 and card.last_review == at
    assert card.stability is not None and card.stability > 0
    assert card.due >= at + timedelta(days=1) and card.due == r.due_after  # whole days, never minutes


def test_seconds_taken_is_clamped_to_a_sane_range(world, picks) -> None:  # type: ignore[no-untyped-def]
    s, ada, _ = world
    qid = picks["numeric"].question.id
    late = practice.present(s, ada, SECRET, T0, question_id=qid)
    out = practice.submit(s, ada, SECRET, late.token, right_answer(late), False, T0 + timedelta(hours=5))
    assert out.attempt.seconds_taken == 4.0 * late.spec.time_limit + 60
    assert out.rating == Rating.Hard  # right but far over the limit
    early = practice.present(s, ada, SECRET, T0, question_id=qid)
    out = practice.submit(s, ada, SECRET, early.token, right_answer(early), False, T0 - timedelta(seconds=30))
    assert out.attempt.seconds_taken == 0.0  # a clock that went backwards is not negative time


def test_hint_used_caps_the_rating_at_hard(world, picks) -> None:  # type: ignore[no-untyped-def]
    s, ada, bob = world
    qid = picks["numeric"].question.id
    quick = T0 + timedelta(seconds=5)
    ratings = {}
    for user, hint in ((ada, False), (bob, True)):
        shown = practice.present(s, user, SECRET, T0, question_id=qid)
        out = practice.submit(s, user, SECRET, shown.token, right_answer(shown), hint, quick)
        assert out.grade.score == 1.0 and out.attempt.hint_used is hint
        ratings[hint] = out.rating
        assert s.exec(select(Review.rating).where(Review.user_id == user.id)).one() == out.rating
    assert ratings == {False: Rating.Easy, True: Rating.Hard}
    cards = {c.user_id: c for c in s.exec(select(Card)).all()}
    assert cards[bob.id].due < cards[ada.id].due  # the hinted answer comes back sooner


def test_a_wrong_answer_rates_again(world, picks) -> None:  # type: ignore[no-untyped-def]
    s, ada, _ = world
    shown = practice.present(s, ada, SECRET, T0, question_id=picks["choice"].question.id)
    right = right_answer(shown)
    wrong = next(o for o in "ABCDEFGH" if o != right)
    out = practice.submit(s, ada, SECRET, shown.token, wrong, False, T0 + timedelta(seconds=10))
    assert out.grade.score == 0.0 and out.rating == Rating.Again
    assert s.exec(select(Review.rating)).one() == Rating.Again


# ------------------------------------------------------------------------------- double submits


def test_the_same_token_twice_records_one_review_and_replays_the_outcome(world, picks) -> None:  # type: ignore[no-untyped-def]
    s, ada, _ = world
    shown = practice.present(s, ada, SECRET, T0, question_id=picks["numeric"].question.id)
    first = practice.submit(s, ada, SECRET, shown.token, right_answer(shown), False, T0 + timedelta(seconds=20))
    card_before = s.exec(select(Card)).one()
    due, reps = card_before.due, card_before.reps
    # the second post (a double click, a resend) carries another answer and comes later: it changes nothing
    again = practice.submit(s, ada, SECRET, shown.token, "12345", True, T0 + timedelta(minutes=3))
    assert again.duplicate and not first.duplicate
    assert again.attempt.id == first.attempt.id and again.attempt.answer == first.attempt.answer
    assert (again.grade.score, again.grade.verdict, again.grade.feedback) == \
           (first.grade.score, first.grade.verdict, first.grade.feedback)
    assert again.variant == first.variant
    assert (again.rating, again.suggested_rating) == (first.rating, first.suggested_rating) == (Rating.Easy, Rating.Easy)
    assert count(s, Attempt) == 1 and count(s, Review) == 1
    s.expire_all()
    card = s.exec(select(Card)).one()
    assert (card.due, card.reps) == (due, reps)


def _submit_concurrently(engine: sa.Engine, ada_id: int, token: str | list[str], answer: str, at: datetime,
                         monkeypatch: pytest.MonkeyPatch) -> list[practice.Outcome]:
    """Two threads, each with its own Session, submit one token; both are held at the grader until
    both have passed the "already submitted?" check, so the race is real every time."""
    barrier = threading.Barrier(2, timeout=20)
    real_grade = graders.grade

    def grade_after_both_checked(*args, **kwargs):  # type: ignore[no-untyped-def]
        barrier.wait()
        return real_grade(*args, **kwargs)

    monkeypatch.setattr(graders, "grade", grade_after_both_checked)
    results: list[practice.Outcome] = []
    errors: list[BaseException] = []

    tokens = token if isinstance(token, list) else [token, token]

    def post(own_token: str) -> None:
        try:
            with Session(engine, expire_on_commit=False) as own:
                user = own.get(User, ada_id)
                results.append(practice.submit(own, user, SECRET, own_token, answer, False, at))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=post, args=(t,)) for t in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    monkeypatch.setattr(graders, "grade", real_grade)
    assert not errors, errors
    return results


def test_two_concurrent_submits_of_one_token_record_one_review(any_engine: sa.Engine, picks,  # type: ignore[no-untyped-def]
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    with Session(any_engine, expire_on_commit=False) as s:
        ada, _ = seed_db(s, picks)
        shown = practice.present(s, ada, SECRET, T0, question_id=picks["numeric"].question.id)
        answer = right_answer(shown)
    results = _submit_concurrently(any_engine, ada.id, shown.token, answer, T0 + timedelta(seconds=30), monkeypatch)
    assert len(results) == 2
    assert sorted(r.duplicate for r in results) == [False, True]  # one recorded it, the other shows its result
    assert results[0].attempt.id == results[1].attempt.id
    assert {(r.grade.score, r.grade.verdict) for r in results} == {(1.0, "correct")}
    assert {(r.rating, r.suggested_rating) for r in results} == {(Rating.Easy, Rating.Easy)}
    with Session(any_engine) as s:
        assert count(s, Attempt) == 1 and count(s, Review) == 1
        card = s.exec(select(Card)).one()
        assert card.reps == 1


def test_two_tabs_answering_a_new_question_at_once_share_one_card(any_engine: sa.Engine, picks,  # type: ignore[no-untyped-def]
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Two forms (two tabs) for the same new question answered at the same moment: both answers
    count, on one card (the second creation of the card collides and is recorded again)."""
    qid = picks["numeric"].question.id
    with Session(any_engine, expire_on_commit=False) as s:
        ada, _ = seed_db(s, picks)
        tokens = [practice.present(s, ada, SECRET, T0, question_id=qid).token for _ in range(2)]
    results = _submit_concurrently(any_engine, ada.id, tokens, "0", T0 + timedelta(seconds=40), monkeypatch)
    assert len(results) == 2 and not any(r.duplicate for r in results)
    with Session(any_engine) as s:
        assert count(s, Attempt) == 2 and count(s, Card) == 1 and count(s, Review) == 2


# ------------------------------------------------------------------------------- refused forms


def test_a_token_of_another_learner_is_refused_with_403(world, picks) -> None:  # type: ignore[no-untyped-def]
    s, ada, bob = world
    shown = practice.present(s, ada, SECRET, T0, question_id=picks["numeric"].question.id)
    with pytest.raises(PracticeError) as exc:
        practice.submit(s, bob, SECRET, shown.token, right_answer(shown), False, T0 + timedelta(seconds=20))
    assert exc.value.status == 403 and "another learner" in str(exc.value)
    assert count(s, Attempt) == 0 and count(s, Review) == 0


def test_a_tampered_token_is_refused(world, picks) -> None:  # type: ignore[no-untyped-def]
    s, ada, _ = world
    shown = practice.present(s, ada, SECRET, T0, question_id=picks["numeric"].question.id)
    payload, _, signature = shown.token.rpartition(".")
    # the first character: the last one of base64 carries unused bits, so changing it may decode the same
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    forged = [
        payload + "." + flipped,                                             # signature altered
        shown.token.replace(shown.token[3], "x" if shown.token[3] != "x" else "y", 1),  # payload altered
        practice.issue_token("someone-elses-secret", ada, shown.row, 42, T0),  # signed with another key
        "",                                                                 # no token at all
        "garbage",
    ]
    for token in forged:
        with pytest.raises(PracticeError) as exc:
            practice.submit(s, ada, SECRET, token, right_answer(shown), False, T0 + timedelta(seconds=20))
        assert exc.value.status == 400, token
        assert "altered" in str(exc.value)
    assert count(s, Attempt) == 0 and count(s, Review) == 0


def test_a_form_shown_over_a_day_ago_is_refused(world, picks) -> None:  # type: ignore[no-untyped-def]
    s, ada, _ = world
    shown = practice.present(s, ada, SECRET, T0, question_id=picks["numeric"].question.id)
    with pytest.raises(PracticeError) as exc:
        practice.submit(s, ada, SECRET, shown.token, right_answer(shown), False, T0 + timedelta(hours=25))
    assert exc.value.status == 400 and "more than a day ago" in str(exc.value)
    assert count(s, Attempt) == 0
    out = practice.submit(s, ada, SECRET, shown.token, right_answer(shown), False, T0 + timedelta(hours=23))
    assert out.grade.verdict == "correct"  # the clock that counts is the one passed in, not the machine's


def test_a_question_edited_since_it_was_shown_is_refused_with_409(world, picks) -> None:  # type: ignore[no-untyped-def]
    s, ada, _ = world
    item = picks["numeric"]
    shown = practice.present(s, ada, SECRET, T0, question_id=item.question.id)
    shown_version = shown.row.version
    new_text = item.text.replace(f"title: {item.question.title}", f"title: {item.question.title} (revised)", 1)
    assert new_text != item.text
    edited = LoadedQuestion(question=bank.load_text(new_text), text=new_text, path=None)
    assert apply_question(s, edited, T0 + timedelta(seconds=5)) == "changed"
    s.commit()
    assert s.get(Question, item.question.id).version == shown_version + 1
    with pytest.raises(PracticeError) as exc:
        practice.submit(s, ada, SECRET, shown.token, right_answer(shown), False, T0 + timedelta(seconds=20))
    assert exc.value.status == 409 and "edited" in str(exc.value)
    assert count(s, Attempt) == 0 and count(s, Review) == 0
    # a fresh showing of the new version is accepted
    fresh = practice.present(s, ada, SECRET, T0 + timedelta(seconds=30), question_id=item.question.id)
    out = practice.submit(s, ada, SECRET, fresh.token, right_answer(fresh), False, T0 + timedelta(seconds=60))
    assert out.attempt.question_version == shown_version + 1 and out.grade.score == 1.0


def test_an_invalid_answer_is_recorded_but_does_not_move_the_card(world, picks) -> None:  # type: ignore[no-untyped-def]
    s, ada, _ = world
    qid = picks["numeric"].question.id
    first = practice.present(s, ada, SECRET, T0, question_id=qid)
    practice.submit(s, ada, SECRET, first.token, right_answer(first), False, T0 + timedelta(seconds=20))
    card = s.exec(select(Card)).one()
    before = (card.due, card.reps, card.stability, card.difficulty, card.last_review, card.state)
    later = T0 + timedelta(days=3)
    shown = practice.present(s, ada, SECRET, later, question_id=qid)
    assert not shown.is_new
    out = practice.submit(s, ada, SECRET, shown.token, "about seven-ish", False, later + timedelta(seconds=20))
    assert out.grade.verdict == "invalid" and out.grade.score == 0.0
    assert out.rating is None and out.grade.feedback  # the learner is told what was expected
    assert out.attempt.verdict == "invalid" and out.attempt.answer == "about seven-ish"
    assert count(s, Attempt) == 2 and count(s, Review) == 1
    s.expire_all()
    card = s.exec(select(Card)).one()
    assert (card.due, card.reps, card.stability, card.difficulty, card.last_review, card.state) == before


def test_an_invalid_first_answer_creates_no_card(world, picks) -> None:  # type: ignore[no-untyped-def]
    s, ada, _ = world
    shown = practice.present(s, ada, SECRET, T0, question_id=picks["numeric"].question.id)
    out = practice.submit(s, ada, SECRET, shown.token, "\x00", False, T0 + timedelta(seconds=20))
    assert out.grade.verdict == "invalid"
    assert count(s, Attempt) == 1 and count(s, Card) == 0 and count(s, Review) == 0


# ------------------------------------------------------------------------------- rubric self-rating


def test_rubric_answers_wait_for_a_self_rating_and_take_it_once(world, picks) -> None:  # type: ignore[no-untyped-def]
    s, ada, bob = world
    shown = practice.present(s, ada, SECRET, T0, question_id=picks["rubric"].question.id)
    out = practice.submit(s, ada, SECRET, shown.token, right_answer(shown), False, T0 + timedelta(minutes=4))
    assert out.grade.needs_self_rating and out.rating is None
    assert out.suggested_rating in (Rating.Hard, Rating.Again)  # coverage as the suggestion, never above Hard
    assert count(s, Attempt) == 1 and count(s, Review) == 0 and count(s, Card) == 0  # nothing scheduled yet
    # a replay of the form before rating still waits
    replay = practice.submit(s, ada, SECRET, shown.token, "", False, T0 + timedelta(minutes=5))
    assert replay.duplicate and replay.rating is None and replay.grade.needs_self_rating
    assert replay.suggested_rating == out.suggested_rating

    with pytest.raises(PracticeError) as exc:
        practice.rate(s, ada, out.attempt.id, 5, T0 + timedelta(minutes=5))
    assert exc.value.status == 400
    with pytest.raises(PracticeError) as exc:
        practice.rate(s, bob, out.attempt.id, 3, T0 + timedelta(minutes=5))
    assert exc.value.status == 404
    assert count(s, Review) == 0

    rated_at = T0 + timedelta(minutes=6)
    att = practice.rate(s, ada, out.attempt.id, 3, rated_at)
    assert att.self_rating == 3
    review = s.exec(select(Review)).one()
    assert (review.rating, review.attempt_id, review.reviewed_at) == (3, out.attempt.id, rated_at)
    card = s.exec(select(Card)).one()
    state = (card.due, card.reps, card.stability)
    assert card.reps == 1

    # a second rating is not applied: the first one stands, no second review, the card is untouched
    again = practice.rate(s, ada, out.attempt.id, 1, rated_at + timedelta(minutes=1))
    assert again.self_rating == 3
    assert count(s, Review) == 1
    s.expire_all()
    card = s.exec(select(Card)).one()
    assert (card.due, card.reps, card.stability) == state
    assert s.get(Attempt, out.attempt.id).self_rating == 3
    # and a replay of the answer form now shows the rating given
    assert practice.submit(s, ada, SECRET, shown.token, "", False, rated_at).rating == 3


# ------------------------------------------------------------------------------- history on the dashboard


def test_reviews_land_on_their_utc_day(any_engine: sa.Engine, picks) -> None:  # type: ignore[no-untyped-def]
    with Session(any_engine, expire_on_commit=False) as s:
        ada, _ = seed_db(s, picks)
        for days, qid in ((0, picks["numeric"].question.id), (0, picks["choice"].question.id),
                          (2, picks["numeric"].question.id)):
            at = T0 + timedelta(days=days)
            shown = practice.present(s, ada, SECRET, at, question_id=qid)
            practice.submit(s, ada, SECRET, shown.token, right_answer(shown), False, at + timedelta(seconds=30))
        per_day = stats.reviews_per_day(s, ada, T0 + timedelta(days=2, hours=1), days=5)
    assert [d for d, _ in per_day] == [(T0 + timedelta(days=i)).date() for i in range(-2, 3)]
    assert [n for _, n in per_day] == [0, 0, 2, 0, 1]
