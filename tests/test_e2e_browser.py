"""End-to-end in a real headless Chromium (Debian's), driven by Playwright.

A learner signs up, practises three questions of different kinds (one of them code), sits a
short mock to the timer's end and reads the report, then opens the dashboard. An instructor
writes a new question in the browser (form starter, an inline error, a preview, a save) and a
learner then practises it. Screenshots of the main pages are saved under `e2e-screenshots/`
at the repository root.
"""
from __future__ import annotations

import os
import re
import shutil
import threading
from datetime import timedelta
from pathlib import Path
from typing import Iterator

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select
from werkzeug.serving import make_server

from interview import accounts, bank
from interview.models import MockInterview, Question, utcnow
from interview.sync import sync_bank
from interview.web import create_app

pytestmark = pytest.mark.e2e
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parent.parent / "e2e-screenshots"
IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture
def live_server(engine: sa.Engine, bundled_bank: list) -> Iterator[tuple[str, sa.Engine]]:
    with Session(engine) as s:
        sync_bank(s, bundled_bank)
        accounts.create_user(s, "e2e-teacher", "teacher's long password", role="instructor")
    app = create_app({"ENGINE": engine, "MULTI_USER": True, "SECRET_KEY": "e2e"})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", engine
    server.shutdown()


@pytest.fixture
def page(live_server: tuple[str, sa.Engine]):  # type: ignore[no-untyped-def]
    if not Path(CHROMIUM).exists():
        if IN_CI:
            pytest.fail("Chromium is required under CI=true (.ci/run installs Debian's chromium)")
        pytest.skip("no chromium on this machine")
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        pg = context.new_page()
        pg.set_default_timeout(20_000)
        yield pg
        browser.close()


def first_of_kind(engine: sa.Engine, kind: str) -> str:
    with Session(engine) as s:
        qid = s.exec(select(Question.id).where(Question.kind == kind, Question.status == "active")
                     .order_by(Question.difficulty, Question.id)).first()
    assert qid, f"the bank has no active {kind} question"
    return qid


def test_learner_journey(page, live_server: tuple[str, sa.Engine]) -> None:  # type: ignore[no-untyped-def]
    base, engine = live_server
    page.goto(base + "/")
    assert "/signin" in page.url  # anonymous users are sent to sign in
    page.click("text=Create an account")
    page.fill("input[name=name]", "e2e-learner")
    page.fill("input[name=password]", "a good long password")
    page.fill("input[name=confirm]", "a good long password")
    page.click("button[type=submit]")
    page.wait_for_url("**/practice/")
    page.screenshot(path=str(SHOTS / "practice.png"), full_page=True)

    # 1. a choice question
    page.goto(f"{base}/practice/q/{first_of_kind(engine, 'choice')}")
    page.locator("input[name=answer]").first.check()
    page.click("form.answer button[type=submit]")
    page.wait_for_selector("section.grade")
    assert page.locator("section.explanation").is_visible()
    page.screenshot(path=str(SHOTS / "practice-result-choice.png"), full_page=True)

    # 2. a numeric question, submitted with Ctrl+Enter
    page.goto(f"{base}/practice/q/{first_of_kind(engine, 'numeric')}")
    page.fill("input[name=answer]", "banana")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("section.grade.invalid")
    assert "Could not read" in page.inner_text("section.grade")

    # 3. a code question, typed into the code editor, which indents after a colon and keeps the
    #    form's textarea in step (tests/test_e2e_learner.py tests the editor in detail)
    code_qid = first_of_kind(engine, "code")
    page.goto(f"{base}/practice/q/{code_qid}")
    page.locator(".code-editor .cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.type("def placeholder():")
    page.keyboard.press("Enter")
    box = page.locator("textarea[name=answer]")
    assert box.input_value().endswith("\n    ")
    with Session(engine) as s:
        row = s.get(Question, code_qid)
        spec = bank.load_text(row.yaml_text)  # type: ignore[union-attr]
    page.eval_on_selector("textarea[name=answer]", """(t, text) => { const v = t._editorView;
        v.dispatch({changes: {from: 0, to: v.state.doc.length, insert: text}}); }""", spec.spec.reference)
    # "Run visible tests": the per-test table of the visible tests, nothing recorded
    page.click("#run-tests")
    page.wait_for_selector("#run-output table.tests", timeout=60_000)
    assert "passed" in page.inner_text("#run-output") and "Hidden" not in page.inner_text("#run-output")
    page.click("form.answer button[type=submit]")
    page.wait_for_url("**/practice/attempt/*")  # the post returns at once; grading is on the queue
    if page.locator("section.grade.pending").count():
        page.evaluate("window.__samePage = true")  # the verdict must arrive without a reload
        page.screenshot(path=str(SHOTS / "practice-grading.png"), full_page=True)
        page.wait_for_selector("section.grade:not(.pending)", timeout=60_000)
        assert page.evaluate("window.__samePage === true")
    assert "Correct" in page.inner_text("section.grade")
    page.screenshot(path=str(SHOTS / "practice-result-code.png"), full_page=True)

    # a short mock, sat to the timer's end
    page.goto(base + "/mock/")
    page.screenshot(path=str(SHOTS / "mock-index.png"), full_page=True)
    page.locator("form.format", has_text="Quick check").locator("button").click()
    page.wait_for_url("**/mock/*")
    mock_url = page.url
    with Session(engine) as s:  # shorten the server's deadline: the server is the authority
        m = s.exec(select(MockInterview).order_by(MockInterview.id.desc())).first()
        assert m is not None
        m.deadline = utcnow() + timedelta(seconds=6)
        s.add(m)
        s.commit()
    page.goto(mock_url)  # a reload resumes with the right (server) time left
    left = float(page.get_attribute("#mock-clock", "data-seconds-left") or "0")
    assert 0 < left <= 10
    if page.locator("input[type=radio], input[type=checkbox]").count():
        page.locator("input[name=answer]").first.check()
    else:
        page.fill("input[name=answer]", "0.5")
    page.screenshot(path=str(SHOTS / "mock-sit.png"), full_page=True)
    page.wait_for_url("**/report", timeout=30_000)  # the timer submits at zero
    assert "Sections" in page.inner_text("main")
    page.screenshot(path=str(SHOTS / "mock-report.png"), full_page=True)

    page.goto(base + "/progress/")
    assert "Mastery" in page.inner_text("main")
    page.screenshot(path=str(SHOTS / "dashboard.png"), full_page=True)


def sign_in(page, base: str, name: str, password: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(base + "/signin")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit]")
    page.wait_for_url("**/practice/")


def test_instructor_writes_a_question_and_a_learner_practises_it(page, live_server) -> None:  # type: ignore[no-untyped-def]
    base, engine = live_server
    sign_in(page, base, "e2e-teacher", "teacher's long password")
    page.click("nav >> text=Instructor")
    page.fill("form.starter input[name=title]", "Accuracy of a screening model")
    page.select_option("form.starter select[name=kind]", "numeric")
    page.select_option("form.starter select[name=topic]", "evaluation-metrics")
    page.click("form.starter button[type=submit]")
    editor = page.locator("textarea[name=yaml]")
    skeleton = editor.input_value()
    assert "id: accuracy-of-a-screening-model" in skeleton and "area: ml" in skeleton

    # a broken edit: the problem is shown inline, naming the field, and nothing is saved
    editor.fill(skeleton.replace("time_limit: 120", "time_limit: soon"))
    page.click("button[value=save]")
    assert "time_limit" in page.inner_text("section.problems")
    with Session(engine) as s:
        assert s.get(Question, "accuracy-of-a-screening-model") is None

    # the instructor's own wording; check and preview, then save
    written = skeleton.replace("A model is right on", "A screening model classifies correctly")
    editor.fill(written)
    page.click("button[value=check]")
    page.wait_for_selector("section.preview-pane")
    assert "screening model classifies correctly" in page.inner_text("section.preview-pane")
    page.screenshot(path=str(SHOTS / "instructor-editor.png"), full_page=True)
    page.click("button[value=save]")
    page.wait_for_url("**/history")
    assert "version 1" in page.inner_text("main")
    page.click("button:has-text('Sign out')")

    # a learner finds it in practice and answers it from the numbers on the page
    page.goto(base + "/signup")
    page.fill("input[name=name]", "e2e-student")
    page.fill("input[name=password]", "a good long password")
    page.fill("input[name=confirm]", "a good long password")
    page.click("button[type=submit]")
    page.wait_for_url("**/practice/")
    page.goto(base + "/practice/q/accuracy-of-a-screening-model")
    prompt = page.inner_text("div.prompt")
    m = re.search(r"correctly (\d+) of (\d+)", prompt)
    assert m, prompt
    page.fill("input[name=answer]", f"{int(m.group(1)) / int(m.group(2)):.3f}")
    page.click("form.answer button[type=submit]")
    page.wait_for_selector("section.grade")
    assert "Correct" in page.inner_text("section.grade")
    page.screenshot(path=str(SHOTS / "learner-practises-authored.png"), full_page=True)
