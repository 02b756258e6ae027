"""The learner's daily loop through Flask's test client (issue 15): forms posted the way a browser
posts them, the settings' checks, the favicon, and the services behind the result pages."""
from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, select
from werkzeug.datastructures import MultiDict

from interview import accounts
from interview.models import MockInterview, User, utcnow
from interview.sync import sync_bank
from interview.web import create_app


@pytest.fixture
def app(engine: sa.Engine, bundled_bank: list) -> Flask:
    with Session(engine) as s:
        sync_bank(s, bundled_bank)
        accounts.create_user(s, "alice", "alice password")
    return create_app({"ENGINE": engine, "MULTI_USER": True, "SECRET_KEY": "test-secret", "TESTING": True})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    c = app.test_client()
    page = c.get("/signin")
    resp = c.post("/signin", data={"csrf_token": csrf_of(page.data), "name": "alice", "password": "alice password"})
    assert resp.status_code == 302
    return c


def csrf_of(html: bytes) -> str:
    m = re.search(rb'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF token on the page"
    return m.group(1).decode()


class _Form(HTMLParser):
    """The fields a browser sends for one form: its enabled named inputs in document order, and the
    clicked submit button's own name and value."""

    def __init__(self, form_id: str, button_text: str) -> None:
        super().__init__()
        self.form_id, self.button_text = form_id, button_text
        self.inside = False
        self.fields: list[tuple[str, str]] = []
        self.buttons: list[dict[str, str | None]] = []
        self._button: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form" and a.get("id") == self.form_id:
            self.inside = True
        elif self.inside and tag == "input" and a.get("name") and "disabled" not in a:
            if a.get("type") not in ("radio", "checkbox") or "checked" in a:
                self.fields.append((a["name"] or "", a.get("value") or ""))
        elif self.inside and tag == "button":
            self._button = dict(a, text="")

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._button["text"] = (self._button["text"] or "") + data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "button" and self._button is not None:
            self.buttons.append(self._button)
            self._button = None

    def submission(self) -> MultiDict:
        button = next(b for b in self.buttons if self.button_text in (b["text"] or ""))
        data = MultiDict(self.fields)
        if button.get("name"):
            data.add(button["name"], button.get("value") or "")
        return data


def browser_post(client: FlaskClient, page_html: bytes, url: str, form_id: str, button: str,
                 **answers: str):  # type: ignore[no-untyped-def]
    parser = _Form(form_id, button)
    parser.feed(page_html.decode())
    data = parser.submission()
    for key, value in answers.items():
        data.setlist(key, [value])
    return client.post(url, data=data)


@pytest.mark.parametrize("position", [0, 2])
def test_submit_mock_submits_from_any_question(client: FlaskClient, engine: sa.Engine, position: int) -> None:
    """The sitting form's "Submit mock" finishes the mock (issue 15, item 1): from the first
    question and from the last, where the old form answered 404."""
    index = client.get("/mock/")
    started = client.post("/mock/start", data={"csrf_token": csrf_of(index.data), "format": "quick-5"})
    sit_url = started.headers["Location"]
    mock_id = int(sit_url.rstrip("/").split("/")[-1])
    page = client.get(f"{sit_url}?q={position}")
    assert page.status_code == 200
    resp = browser_post(client, page.data, f"/mock/{mock_id}/save", "mock-form", "Submit mock", answer="A")
    assert resp.status_code == 302, resp.data
    assert resp.headers["Location"].endswith(f"/mock/{mock_id}/report")
    with Session(engine) as s:
        m = s.get(MockInterview, mock_id)
        assert m is not None and m.status == "submitted"
    assert b"No mock interviews yet" not in client.get("/progress/").data


def test_save_and_next_keeps_the_mock_running(client: FlaskClient, engine: sa.Engine) -> None:
    index = client.get("/mock/")
    sit_url = client.post("/mock/start", data={"csrf_token": csrf_of(index.data), "format": "quick-5"}).headers["Location"]
    mock_id = int(sit_url.rstrip("/").split("/")[-1])
    page = client.get(sit_url)
    resp = browser_post(client, page.data, f"/mock/{mock_id}/save", "mock-form", "Save & next", answer="A")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("q=1")
    with Session(engine) as s:
        assert s.get(MockInterview, mock_id).status == "running"  # type: ignore[union-attr]


def _settings(client: FlaskClient, **overrides: str):  # type: ignore[no-untyped-def]
    page = client.get("/account")
    data = {"csrf_token": csrf_of(page.data), "interview_date": "", "minutes_per_day": "30", "new_per_day": "10"}
    data.update(overrides)
    return client.post("/account", data=data)


def test_an_interview_date_in_the_past_is_refused(client: FlaskClient, engine: sa.Engine) -> None:
    yesterday = (utcnow().date() - timedelta(days=1)).isoformat()
    resp = _settings(client, interview_date=yesterday)
    assert resp.status_code == 400 and b"in the past" in resp.data
    with Session(engine) as s:
        assert s.exec(select(User).where(User.name == "alice")).one().interview_date is None
    today = utcnow().date().isoformat()
    assert _settings(client, interview_date=today).status_code == 302
    ahead = (utcnow().date() + timedelta(days=20)).isoformat()
    assert _settings(client, interview_date=ahead).status_code == 302
    page = client.get("/account")
    assert f'min="{today}"'.encode() in page.data  # the date picker offers no past day either


def test_a_saved_date_that_has_passed_does_not_block_other_settings(client: FlaskClient, engine: sa.Engine) -> None:
    past = utcnow().date() - timedelta(days=3)
    with Session(engine) as s:
        user = s.exec(select(User).where(User.name == "alice")).one()
        user.interview_date = past
        s.add(user)
        s.commit()
    assert _settings(client, interview_date=past.isoformat(), minutes_per_day="45").status_code == 302
    with Session(engine) as s:
        assert s.exec(select(User).where(User.name == "alice")).one().minutes_per_day == 45


def test_favicon_is_served(app: Flask) -> None:
    resp = app.test_client().get("/favicon.ico")
    assert resp.status_code == 200
    assert resp.data[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert b'rel="icon"' in app.test_client().get("/signin").data


# --- result pages and the ways on from them (items 6, 7, 9-15) ---

from interview.models import Attempt, Card, Question, Review  # noqa: E402


def field(html: bytes, name: str) -> str:
    m = re.search(rb'name="' + name.encode() + rb'" value="([^"]*)"', html)
    assert m, f"no field {name}"
    return m.group(1).decode()


def of_kind(engine: sa.Engine, kind: str, where: Any = None) -> str:
    with Session(engine) as s:
        q = select(Question.id).where(Question.kind == kind, Question.status == "active")
        qid = s.exec((q if where is None else q.where(where)).order_by(Question.difficulty, Question.id)).first()
    assert qid
    return qid


def answer(client: FlaskClient, qid: str, text: str, **extra: str):  # type: ignore[no-untyped-def]
    page = client.get(f"/practice/q/{qid}")
    data = {"csrf_token": csrf_of(page.data), "token": field(page.data, "token"), "kind": field(page.data, "kind"),
            "answer": text, "hint_used": "0"}
    data.update(extra)
    return settled(client, client.post("/practice/answer", data=data))


def settled(client: FlaskClient, resp, seconds: float = 90.0):  # type: ignore[no-untyped-def]
    """Code and SQL are graded on the queue: follow its redirect and wait until the verdict is on the page."""
    import time

    if resp.status_code != 303:
        return resp
    url, deadline = resp.headers["Location"], time.monotonic() + seconds
    while True:
        page = client.get(url)
        waiting = page.status_code == 202 or b'class="grade pending' in page.data or b"grade pending" in page.data
        if not waiting or time.monotonic() > deadline:
            return page
        time.sleep(0.3)


def test_i_dont_know_after_an_unreadable_answer_records_again_once(client: FlaskClient, engine: sa.Engine) -> None:
    qid = of_kind(engine, "numeric")
    resp = answer(client, qid, "banana")
    assert resp.status_code == 200 and b"Invalid" in resp.data
    assert b"Explanation" not in resp.data and b"A correct answer" not in resp.data  # no spoiler before choosing
    assert b"Edit and resubmit" in resp.data and b"I don't know" in resp.data
    with Session(engine) as s:
        attempt = s.exec(select(Attempt).where(Attempt.question_id == qid)).one()
        s.expunge(attempt)
        assert s.exec(select(Review)).all() == []
    for _ in range(2):  # asked twice: one review
        shown = client.post(f"/practice/dont-know/{attempt.id}", data={"csrf_token": csrf_of(resp.data)})
        assert shown.status_code == 200
        assert b"A correct answer" in shown.data and b"Explanation" in shown.data and b"Again" in shown.data
    with Session(engine) as s:
        reviews = s.exec(select(Review)).all()
        assert [(r.rating, r.attempt_id) for r in reviews] == [(1, attempt.id)]
        assert s.exec(select(Card).where(Card.question_id == qid)).one() is not None


@pytest.mark.parametrize("kind", ["numeric", "code"])
def test_i_dont_know_before_answering_shows_the_answer_and_records_again(client: FlaskClient, engine: sa.Engine,
                                                                         kind: str) -> None:
    """Anki's Again straight from the question: nothing to type first, no sandbox run for code,
    and a double click (the same form twice) records one review."""
    qid = of_kind(engine, kind)
    page = client.get(f"/practice/q/{qid}")
    assert b'id="give-up"' in page.data
    form = {"csrf_token": csrf_of(page.data), "token": field(page.data, "token"), "kind": kind,
            "answer": "", "hint_used": "0", "dont_know": "1"}
    for _ in range(2):
        shown = client.post("/practice/answer", data=form)
        assert shown.status_code == 200, shown.data[:300]
        assert b"Explanation" in shown.data and b"Again" in shown.data
        assert (b"A reference solution" if kind == "code" else b"A correct answer") in shown.data
    with Session(engine) as s:
        attempts = s.exec(select(Attempt).where(Attempt.question_id == qid)).all()
        assert [(a.verdict, a.answer) for a in attempts] == [("invalid", "")]
        assert [r.rating for r in s.exec(select(Review)).all()] == [1]


def test_edit_and_resubmit_an_unreadable_answer_counts(client: FlaskClient, engine: sa.Engine) -> None:
    qid = of_kind(engine, "numeric")
    resp = answer(client, qid, "banana")
    with Session(engine) as s:
        attempt = s.exec(select(Attempt).where(Attempt.question_id == qid)).one()
        s.expunge(attempt)
    page = client.get(f"/practice/again/{attempt.id}")
    assert page.status_code == 200 and b'value="banana"' in page.data and b"did not count" in page.data
    assert b'action="/practice/answer"' in page.data
    again = client.post("/practice/answer", data={"csrf_token": csrf_of(page.data), "token": field(page.data, "token"),
                                                   "kind": "numeric", "answer": "0.5", "hint_used": "0"})
    assert again.status_code == 200 and b"Invalid" not in again.data
    with Session(engine) as s:
        attempts = s.exec(select(Attempt).where(Attempt.question_id == qid).order_by(Attempt.id)).all()
        assert [a.seed for a in attempts] == [attempt.seed] * 2  # the same variant
        assert len(s.exec(select(Review)).all()) == 1


def test_another_learners_attempt_cannot_be_retried_or_revealed(app: Flask, client: FlaskClient, engine: sa.Engine) -> None:
    resp = answer(client, of_kind(engine, "numeric"), "banana")
    with Session(engine) as s:
        attempt = s.exec(select(Attempt)).one()
        s.expunge(attempt)
        accounts.create_user(s, "mallory", "mallory password")
    other = app.test_client()
    page = other.get("/signin")
    other.post("/signin", data={"csrf_token": csrf_of(page.data), "name": "mallory", "password": "mallory password"})
    assert other.get(f"/practice/again/{attempt.id}").status_code == 404
    token = csrf_of(other.get("/account").data)
    assert other.post(f"/practice/dont-know/{attempt.id}", data={"csrf_token": token}).status_code == 404
    assert b"Edit and resubmit" in resp.data


@pytest.mark.sandbox
def test_try_again_after_a_wrong_sql_answer_keeps_the_query_and_records_nothing(client: FlaskClient,
                                                                                engine: sa.Engine) -> None:
    qid = of_kind(engine, "sql")
    wrong = "SELECT 1 AS nothing"
    resp = answer(client, qid, wrong)
    assert resp.status_code == 200 and b"Try again" in resp.data
    with Session(engine) as s:
        attempt = s.exec(select(Attempt).where(Attempt.question_id == qid)).one()
        s.expunge(attempt)
        reviews_before = len(s.exec(select(Review)).all())
    page = client.post(f"/practice/again/{attempt.id}", data={"csrf_token": csrf_of(resp.data), "answer": wrong})
    assert page.status_code == 200 and wrong.encode() in page.data and b"retry is practice" in page.data
    assert f'action="/practice/retry/{attempt.id}"'.encode() in page.data
    from interview import bank as bank_mod
    with Session(engine) as s:
        reference = bank_mod.load_text(s.get(Question, qid).yaml_text).spec.reference  # type: ignore[union-attr]
    posted = client.post(f"/practice/retry/{attempt.id}", data={"csrf_token": csrf_of(page.data), "kind": "sql",
                                                             "token": field(page.data, "token"), "answer": reference})
    assert posted.status_code == 303  # a SQL retry runs the sandbox: on the grading queue, not in the request
    graded = settled(client, posted)
    assert graded.status_code == 200 and b"Correct" in graded.data and b"not recorded" in graded.data
    with Session(engine) as s:
        assert len(s.exec(select(Attempt)).all()) == 1
        assert len(s.exec(select(Review)).all()) == reviews_before


def test_choice_result_marks_every_option_with_its_reason_once(client: FlaskClient, engine: sa.Engine) -> None:
    from interview import bank as bank_mod
    import graders

    with Session(engine) as s:
        rows = s.exec(select(Question).where(Question.kind == "multi", Question.status == "active")).all()
    row = next(r for r in rows if any(o.why for o in bank_mod.load_text(r.yaml_text).spec.options))
    page = client.get(f"/practice/q/{row.id}")
    token = field(page.data, "token")
    resp = client.post("/practice/answer", data={"csrf_token": csrf_of(page.data), "token": token, "kind": "multi",
                                                 "answer": ["A"], "hint_used": "0"})
    html = resp.data.decode()
    assert 'class="options-result"' in html
    spec = bank_mod.load_text(row.yaml_text)
    from interview.practice import read_token
    from interview.web import create_app  # noqa: F401
    seed = read_token("test-secret", token, type("U", (), {"id": 1})())["s"]
    variant = graders.instantiate(spec, seed)
    from markupsafe import escape

    def shown(markdown: str) -> str:  # a text's words as the page shows them (Markdown marks gone, HTML escaped)
        return str(escape(re.sub(r"[`*]", "", markdown)))

    for o in variant.data["options"]:
        assert shown(o["text"].split()[0]) in html  # each option's text is repeated
        if o["why"] and (o["label"] == "A" or o["label"] in variant.data["correct"]):
            reason = shown(o["why"].split(".")[0][:40]).split("$")[0]
            assert html.count(reason) == 1, o["why"]  # its reason, once
    assert "✓" in html


def test_expression_reference_is_typeset(client: FlaskClient, engine: sa.Engine) -> None:
    resp = answer(client, of_kind(engine, "expression"), "x")
    html = resp.data.decode()
    m = re.search(r'<p class="math-answer"><span class="math display">(.*?)</span>', html)
    assert m, html[-3000:]
    assert "*" not in m.group(1) and "**" not in m.group(1)


def test_hint_cap_is_explained(client: FlaskClient, engine: sa.Engine) -> None:
    from interview import bank as bank_mod
    import graders
    from interview.practice import read_token

    qid = of_kind(engine, "numeric")
    page = client.get(f"/practice/q/{qid}")
    token = field(page.data, "token")
    with Session(engine) as s:
        spec = bank_mod.load_text(s.get(Question, qid).yaml_text)  # type: ignore[union-attr]
        uid = s.exec(select(User).where(User.name == "alice")).one().id
    seed = read_token("test-secret", token, type("U", (), {"id": uid})())["s"]
    reference = graders.reference_answer(spec, graders.instantiate(spec, seed))
    resp = client.post("/practice/answer", data={"csrf_token": csrf_of(page.data), "token": token, "kind": "numeric",
                                                 "answer": reference, "hint_used": "1"})
    assert b"Correct" in resp.data and b"capped at Hard" in resp.data


def test_a_resubmission_keeps_the_hint_its_first_answer_used(client: FlaskClient, engine: sa.Engine) -> None:
    """Hint, unreadable answer, edit and resubmit the right one: still capped at Hard (the hint
    flag was once dropped on the way, so the help went uncounted)."""
    import graders
    from interview import bank as bank_mod
    from interview.practice import read_token

    qid = of_kind(engine, "numeric", where=Question.yaml_text.contains("hints:"))
    page = client.get(f"/practice/q/{qid}")
    token = field(page.data, "token")
    first = client.post("/practice/answer", data={"csrf_token": csrf_of(page.data), "token": token, "kind": "numeric",
                                                  "answer": "banana", "hint_used": "1"})
    assert b"Edit and resubmit" in first.data
    with Session(engine) as s:
        attempt = s.exec(select(Attempt).where(Attempt.question_id == qid)).one()
        spec = bank_mod.load_text(s.get(Question, qid).yaml_text)  # type: ignore[union-attr]
        uid = s.exec(select(User).where(User.name == "alice")).one().id
    edit = client.get(f"/practice/again/{attempt.id}")
    assert b'id="hint-used" value="1"' in edit.data
    assert re.search(rb'<div class="hint">', edit.data)  # the hint it was written with is on show
    seed = read_token("test-secret", field(edit.data, "token"), type("U", (), {"id": uid})())["s"]
    reference = graders.reference_answer(spec, graders.instantiate(spec, seed))
    resp = client.post("/practice/answer", data={"csrf_token": csrf_of(edit.data), "token": field(edit.data, "token"),
                                                 "kind": "numeric", "answer": reference,
                                                 "hint_used": re.search(rb'id="hint-used" value="(\d)"', edit.data)[1].decode()})
    assert b"Correct" in resp.data and b"capped at Hard" in resp.data


def test_mock_report_shows_the_correct_answer_to_each_miss(client: FlaskClient, engine: sa.Engine) -> None:
    """Every answer is unreadable ("zzz"): a submitted mock cannot be answered again, so the report
    shows the right options of a choice question too (it once showed nothing for them)."""
    from interview.models import MockFormat

    index = client.get("/mock/")  # the bundled formats exist from here on
    with Session(engine) as s:
        s.add(MockFormat(slug="every-kind-missed", name="Every kind missed", minutes=20, sections=[
            {"name": "Choices", "areas": ["ml", "math"], "kinds": ["choice"], "count": 2},
            {"name": "Select all", "areas": ["ml", "math"], "kinds": ["multi"], "count": 2},
            {"name": "Numbers", "areas": ["ml", "math"], "kinds": ["numeric", "expression", "matrix"], "count": 3}]))
        s.commit()
    sit_url = client.post("/mock/start", data={"csrf_token": csrf_of(index.data),
                                               "format": "every-kind-missed"}).headers["Location"]
    mock_id = int(sit_url.rstrip("/").split("/")[-1])
    page = client.get(sit_url)
    resp = browser_post(client, page.data, f"/mock/{mock_id}/save", "mock-form", "Submit mock", answer="zzz")
    report = client.get(resp.headers["Location"])
    html = report.data.decode()
    from interview.models import MockItem
    with Session(engine) as s:
        items = s.exec(select(MockItem).where(MockItem.mock_id == mock_id)).all()
        kinds = [s.get(Question, i.question_id).kind for i in items]  # type: ignore[union-attr]
    shown = html.count('class="options-result"') + html.count('class="reference"')
    assert shown == sum(k != "rubric" for k in kinds), (kinds, shown)
    assert html.count('<details class="explanation" open') == len(kinds)  # every answer was wrong


def test_times_show_in_the_learners_zone(client: FlaskClient, engine: sa.Engine) -> None:
    """Saved zone first, else the browser's (the tz cookie), else UTC; unknown names are refused."""
    index = client.get("/mock/")
    client.post("/mock/start", data={"csrf_token": csrf_of(index.data), "format": "quick-5"})
    with Session(engine) as s:
        started = s.exec(select(MockInterview)).one().started_at
    utc_text = started.strftime("%Y-%m-%d %H:%M")
    assert f"{utc_text} UTC".encode() in client.get("/mock/").data
    client.set_cookie("tz", "Asia/Kolkata")  # UTC+5:30, no daylight saving
    kolkata = (started + timedelta(hours=5, minutes=30)).strftime("%Y-%m-%d %H:%M")
    assert f"{kolkata} IST".encode() in client.get("/mock/").data
    assert _settings(client, time_zone="Mars/Olympus").status_code == 400
    assert _settings(client, time_zone="America/Bogota").status_code == 302  # UTC-5, no daylight saving
    bogota = (started - timedelta(hours=5)).strftime("%Y-%m-%d %H:%M")
    assert f"{bogota} -05".encode() in client.get("/mock/").data
    with Session(engine) as s:
        assert s.exec(select(User).where(User.name == "alice")).one().time_zone == "America/Bogota"


def test_study_more_after_the_day_is_done(client: FlaskClient, engine: sa.Engine) -> None:
    from interview import scheduler

    assert _settings(client, new_per_day="0").status_code == 302
    done = client.get("/practice/")
    assert b"Done for today" in done.data and b"Study more" in done.data and b"What studying ahead costs" in done.data
    more = client.get("/practice/more?mode=new")
    assert more.status_code == 200 and b"beyond today" in more.data and b'name="more" value="new"' in more.data
    result = client.post("/practice/answer", data={"csrf_token": csrf_of(more.data), "token": field(more.data, "token"),
                                                   "kind": field(more.data, "kind"), "answer": "zzz", "hint_used": "0",
                                                   "more": "new"})
    assert b'href="/practice/more?mode=new"' in result.data  # Next stays in "study more"
    # a card reviewed two days ago and not yet due is offered as a review ahead of time, with its recall
    with Session(engine) as s:
        user = s.exec(select(User).where(User.name == "alice")).one()
        other = s.exec(select(Question.id).where(Question.kind == "numeric", Question.status == "active")
                       .order_by(Question.id.desc())).first()
        card = scheduler.card_for(s, user.id, other, utcnow() - timedelta(days=2))  # type: ignore[arg-type]
        scheduler.review(s, card, 4, utcnow() - timedelta(days=2))
        s.commit()
    ahead = client.get("/practice/more?mode=ahead")
    assert ahead.status_code == 200 and b"review ahead of time" in ahead.data and b"your recall of it now" in ahead.data
    assert client.get("/practice/more?mode=everything").status_code == 400


def test_question_browser_filters_and_practise_link(client: FlaskClient, engine: sa.Engine) -> None:
    from interview import scheduler

    page = client.get("/questions/?kind=sql")
    html = page.data.decode()
    with Session(engine) as s:
        sql_ids = s.exec(select(Question.id).where(Question.kind == "sql", Question.status == "active")).all()
        first = s.get(Question, sql_ids[0])
        assert first is not None
    assert html.count('class="practise"') == len(sql_ids) > 0
    assert f'href="/practice/q/{sql_ids[0]}"' in html
    # text search: words of the title find it, an unknown word finds nothing
    title_word = max(first.title.split(), key=len)
    found = client.get(f"/questions/?q={title_word}&kind=sql").data.decode()
    assert first.title in found
    assert "No question matches" in client.get("/questions/?q=zzzyyyxxx").data.decode()
    # difficulty and area combine
    d = first.difficulty
    assert all(f">{'●' * d}<" in row for row in re.findall(r"<tr>.*?</tr>", client.get(
        f"/questions/?difficulty={d}&area={first.area}").data.decode(), re.S)[1:])
    # status is the learner's own: after a review the question is no longer new
    with Session(engine) as s:
        user = s.exec(select(User).where(User.name == "alice")).one()
        card = scheduler.card_for(s, user.id, first.id, utcnow())  # type: ignore[arg-type]
        scheduler.review(s, card, 3, utcnow())
        s.commit()
    assert first.title not in client.get("/questions/?kind=sql&status=new").data.decode()
    assert first.title in client.get("/questions/?kind=sql&status=learnt").data.decode()
    # the whole bank comes a page at a time, the filters kept from page to page
    everything = client.get("/questions/").data.decode()
    assert everything.count('class="practise"') == 50 and 'rel="next"' in everything
    second = client.get("/questions/?kind=&page=2").data.decode()
    assert "page 2 of" in second and 'rel="prev"' in second
    for bad in ("status=forgotten", "kind=essay", "difficulty=9", "area=astrology"):
        assert client.get(f"/questions/?{bad}").status_code == 400, bad


def test_retiring_a_question_can_be_undone(engine: sa.Engine, bundled_bank: list) -> None:
    from interview import authoring
    from tests.test_bank_loader import GOOD

    with Session(engine) as s:
        sync_bank(s, bundled_bank)
        teacher = accounts.create_user(s, "teacher", "teacher password", role="instructor")
        qid = authoring.save(s, teacher, GOOD.replace("id: good-question", "id: teachers-own"), utcnow()).id
    app = create_app({"ENGINE": engine, "MULTI_USER": True, "SECRET_KEY": "t", "TESTING": True})
    c = app.test_client()
    page = c.get("/signin")
    c.post("/signin", data={"csrf_token": csrf_of(page.data), "name": "teacher", "password": "teacher password"})
    token = csrf_of(c.get("/instructor/").data)
    retired = c.post(f"/instructor/questions/{qid}/retire", data={"csrf_token": token})
    assert retired.status_code == 302 and f"retired={qid}" in retired.headers["Location"]
    home = c.get(retired.headers["Location"]).data.decode()
    assert f'action="/instructor/questions/{qid}/restore"' in home and "Undo" in home
    with Session(engine) as s:
        assert s.get(Question, qid).status == "retired"  # type: ignore[union-attr]
    assert c.post(f"/instructor/questions/{qid}/restore", data={"csrf_token": token}).status_code == 302
    with Session(engine) as s:
        assert s.get(Question, qid).status == "active"  # type: ignore[union-attr]


def test_saving_the_last_mock_question_without_a_button_stays_on_it(client: FlaskClient) -> None:
    """Ctrl+Enter submits the sitting form with no button: from the last question that went to a 404."""
    index = client.get("/mock/")
    sit_url = client.post("/mock/start", data={"csrf_token": csrf_of(index.data), "format": "quick-5"}).headers["Location"]
    mock_id = int(sit_url.rstrip("/").split("/")[-1])
    page = client.get(f"{sit_url}?q=2")
    parser = _Form("mock-form", "Submit mock")
    parser.feed(page.data.decode())
    data = MultiDict(parser.fields)  # no button: what requestSubmit() sends
    data.setlist("answer", ["A"])
    resp = client.post(f"/mock/{mock_id}/save", data=data, follow_redirects=True)
    assert resp.status_code == 200 and b"Question 3 of 3" in resp.data


def test_retries_are_rate_limited_per_learner(client: FlaskClient, engine: sa.Engine) -> None:
    from interview.web import limiter

    limiter.reset()
    answer(client, of_kind(engine, "numeric"), "banana")
    with Session(engine) as s:
        attempt_id = s.exec(select(Attempt.id)).one()
    page = client.get(f"/practice/again/{attempt_id}")
    data = {"csrf_token": csrf_of(page.data), "token": field(page.data, "token"), "kind": "numeric", "answer": "0.5"}
    codes = [client.post(f"/practice/retry/{attempt_id}", data=data).status_code for _ in range(21)]
    assert codes[:20] == [200] * 20 and codes[20] == 429
    limiter.reset()
