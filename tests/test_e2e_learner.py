"""The learner's experience in a real headless Chromium (Debian's), driven by Playwright (issue 15).

One server and one browser serve the whole module (each test opens its own signed-in context):
the code editor, the mock's Submit, the result pages, the dead-end exits, the question browser,
the 375 px layout, and an axe-core accessibility check of every page with screenshots of each
at 1280 and 375 px in `e2e-screenshots/`.
"""
from __future__ import annotations

import os
import re
import shutil
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select
from werkzeug.serving import make_server

from interview import accounts, bank, db
from interview.models import Question
from interview.sync import sync_bank
from interview.web import create_app

pytestmark = pytest.mark.e2e
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parent.parent / "e2e-screenshots"
AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
IN_CI = os.environ.get("CI", "").lower() == "true"
PASSWORD = "a good long password"


class Site:
    """The running app, its database, and a browser to open signed-in contexts in."""

    def __init__(self, base: str, engine: sa.Engine, browser: Any) -> None:
        self.base, self.engine, self.browser = base, engine, browser
        self._states: dict[str, Any] = {}
        self.errors: list[str] = []  # uncaught script errors on any page: each test checks none

    def page(self, user: str = "learner", width: int = 1280, height: int = 900, touch: bool = False) -> Any:
        """A new page signed in as `user` (created on first use) at the given viewport."""
        if user not in self._states:
            with Session(self.engine) as s:
                accounts.create_user(s, user, PASSWORD, role="instructor" if user.startswith("teacher") else "learner")
            ctx = self.browser.new_context()
            pg = ctx.new_page()
            pg.goto(self.base + "/signin")
            pg.fill("input[name=name]", user)
            pg.fill("input[name=password]", PASSWORD)
            pg.click("form button[type=submit]")
            pg.wait_for_url("**/practice/")
            self._states[user] = ctx.storage_state()
            ctx.close()
        ctx = self.browser.new_context(viewport={"width": width, "height": height}, storage_state=self._states[user],
                                       has_touch=touch, is_mobile=touch)
        pg = ctx.new_page()
        pg.set_default_timeout(20_000)
        pg.on("dialog", lambda d: d.accept())
        pg.on("pageerror", lambda exc: self.errors.append(f"{pg.url}: {exc}"))
        return pg

    def first_of_kind(self, kind: str, where: Any = None) -> str:
        with Session(self.engine) as s:
            q = select(Question.id).where(Question.kind == kind, Question.status == "active")
            if where is not None:
                q = q.where(where)
            qid = s.exec(q.order_by(Question.difficulty, Question.id)).first()
        assert qid, f"the bank has no active {kind} question"
        return qid

    def spec(self, qid: str) -> Any:
        with Session(self.engine) as s:
            row = s.get(Question, qid)
            return bank.load_text(row.yaml_text)  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, bundled_bank: list) -> Iterator[Site]:
    if not Path(CHROMIUM).exists():
        if IN_CI:
            pytest.fail("Chromium is required under CI=true (.ci/run installs Debian's chromium)")
        pytest.skip("no chromium on this machine")
    from playwright.sync_api import sync_playwright

    data = tmp_path_factory.mktemp("e2e-learner")
    os.environ.setdefault("INTERVIEW_DATA_DIR", str(data))
    engine = db.make_engine(f"sqlite:///{data / 'site.db'}")
    db.migrate(engine)
    with Session(engine) as s:
        sync_bank(s, bundled_bank)
    app = create_app({"ENGINE": engine, "MULTI_USER": True, "SECRET_KEY": "e2e-learner"})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield Site(f"http://127.0.0.1:{server.server_port}", engine, browser)
        browser.close()
    server.shutdown()
    engine.dispose()


def editor_text(page: Any) -> str:
    """What the form will submit: the textarea the editor keeps in sync."""
    return page.eval_on_selector("textarea[name=answer]", "t => t.value")


def set_editor(page: Any, text: str) -> None:
    page.eval_on_selector("textarea[name=answer]", """(t, text) => { const v = t._editorView;
        v.dispatch({changes: {from: 0, to: v.state.doc.length, insert: text}}); }""", text)


def test_code_editor_indents_dedents_and_lets_the_keyboard_out(site: Site) -> None:
    page = site.page()
    qid = site.first_of_kind("code")
    page.goto(f"{site.base}/practice/q/{qid}")
    editor = page.locator(".code-editor .cm-content")
    try:
        editor.wait_for()
    finally:
        assert not site.errors
    assert page.locator("textarea[name=answer]").is_hidden()  # the editor stands in for the textarea
    starter = site.spec(qid).spec.starter if hasattr(site.spec(qid).spec, "starter") else ""
    if starter:
        assert editor_text(page).strip() == starter.strip()  # the starter code is loaded
    assert page.locator(".code-editor .cm-lineNumbers").count() == 1
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")
    page.keyboard.type("def f(xs):")
    page.keyboard.press("Enter")
    assert editor_text(page) == "def f(xs):\n    "  # indented after the colon
    page.keyboard.type("for x in xs:")
    page.keyboard.press("Enter")
    assert editor_text(page).endswith("for x in xs:\n        ")
    page.keyboard.type("pass")
    page.keyboard.press("Shift+Tab")
    assert editor_text(page).endswith("\n    pass")  # dedented
    page.keyboard.press("Tab")
    assert editor_text(page).endswith("\n        pass")  # indented again, focus stays
    assert page.evaluate("document.activeElement.classList.contains('cm-content')")
    page.keyboard.press("End")
    page.keyboard.press("Enter")
    page.keyboard.type("print(xs[0]")
    assert page.locator(".cm-matchingBracket").count() >= 1  # the bracket pair is shown
    # Escape then Tab leaves the editor for the next control (CodeMirror's way out)
    page.keyboard.press("Escape")
    page.keyboard.press("Tab")
    assert not page.evaluate("document.activeElement.classList.contains('cm-content')")
    assert page.locator(".cm-content .tok-keyword, .cm-content span[class^='ͼ']").count() > 0  # highlighted

    # the reference solution, submitted with Ctrl+Enter from inside the editor
    set_editor(page, site.spec(qid).spec.reference)
    editor.click()
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("section.grade", timeout=60_000)
    assert "Correct" in page.inner_text("section.grade")
    page.context.close()


def test_code_answer_works_without_javascript(site: Site) -> None:
    site.page()  # creates the learner
    ctx = site.browser.new_context(java_script_enabled=False, storage_state=site._states["learner"])
    page = ctx.new_page()
    qid = site.first_of_kind("code")
    page.goto(f"{site.base}/practice/q/{qid}")
    box = page.locator("textarea[name=answer]")
    assert box.is_visible()
    box.fill(site.spec(qid).spec.reference)
    page.click("form.answer button[type=submit]")
    page.wait_for_selector("section.grade", timeout=60_000)
    assert "Correct" in page.inner_text("section.grade")
    ctx.close()


def test_sql_editor(site: Site) -> None:
    page = site.page()
    qid = site.first_of_kind("sql")
    page.goto(f"{site.base}/practice/q/{qid}")
    page.locator(".code-editor .cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")
    page.keyboard.type("select 1")
    assert editor_text(page) == "select 1"
    set_editor(page, site.spec(qid).spec.reference)
    page.click("form.answer button[type=submit]")
    page.wait_for_selector("section.grade", timeout=60_000)
    assert "Correct" in page.inner_text("section.grade")
    page.context.close()
