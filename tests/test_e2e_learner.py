"""The learner's experience in a real headless Chromium (Debian's), driven by Playwright (issue 15).

One server and one browser serve the whole module (each test opens its own signed-in context):
the code editor, the mock's Submit, the result pages, the dead-end exits, the question browser,
the 375 px layout, and an axe-core accessibility check of every page with screenshots of each
at 1280 and 375 px in `e2e-screenshots/`.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select
from werkzeug.serving import make_server

from interview import accounts, bank, db, mock
from interview.models import MockFormat, Question, User
from interview.sync import sync_bank
from interview.web import create_app, limiter

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
    # Every scenario signs a fresh account in through the form, from 127.0.0.1: more than the
    # sign-in limit (10 a minute per address) allows. The limiter is one object shared by every
    # app, so it is switched off for this module's requests only and on again after (a config
    # setting would stay off for every later test). The limits are tested in test_web_app.
    limiter_was = limiter.enabled
    limiter.enabled = False
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        try:
            yield Site(f"http://127.0.0.1:{server.server_port}", engine, browser)
        finally:
            browser.close()
            limiter.enabled = limiter_was
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
    page.wait_for_selector("section.grade:not(.pending)", timeout=90_000)
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
    for _ in range(120):  # graded on the queue: without JavaScript, a refresh shows the verdict
        page.wait_for_selector("section.grade", timeout=60_000)
        if not page.locator("section.grade.pending").count():
            break
        page.wait_for_timeout(500)
        page.reload()
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
    page.wait_for_selector("section.grade:not(.pending)", timeout=90_000)
    assert "Correct" in page.inner_text("section.grade")
    page.context.close()


# --------------------------------------------------------------------------- behaviours


def test_try_again_keeps_the_code_in_the_editor(site: Site) -> None:
    page = site.page("learner-retry")
    qid = site.first_of_kind("code")
    page.goto(f"{site.base}/practice/q/{qid}")
    page.locator(".code-editor .cm-content").wait_for()
    wrong = f"def {site.spec(qid).spec.function}(*args):\n    return None\n"
    set_editor(page, wrong)
    page.click("form.answer button[type=submit]")
    page.wait_for_selector("section.grade:not(.pending)", timeout=90_000)
    assert page.locator("table.tests").is_visible()  # the per-test table
    shot(page, "practice-result-code-wrong")
    page.click("#try-again")
    page.locator(".code-editor .cm-content").wait_for()
    assert editor_text(page) == wrong  # the learner's code, not the starter
    assert "retry is practice" in page.inner_text("main")
    set_editor(page, site.spec(qid).spec.reference)
    page.click("form.answer button[type=submit]")
    page.wait_for_selector("section.grade:not(.pending)", timeout=90_000)
    assert "Correct" in page.inner_text("section.grade") and "not recorded" in page.inner_text("main")
    assert not site.errors
    page.context.close()


def test_i_dont_know_from_the_question_page(site: Site) -> None:
    """The button beside Submit skips typing: the required input does not block it."""
    page = site.page("learner-idk-first")
    page.goto(f"{site.base}/practice/q/{site.first_of_kind('numeric')}")
    page.click("#give-up")
    page.wait_for_selector("section.explanation")
    assert "Again" in page.inner_text("main") and page.locator("details.reference").is_visible()
    assert not site.errors
    page.context.close()


def test_i_dont_know_shows_the_answer(site: Site) -> None:
    page = site.page("learner-idk")
    page.goto(f"{site.base}/practice/q/{site.first_of_kind('numeric')}")
    page.fill("input[name=answer]", "banana")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("section.grade.invalid")
    assert not page.locator("section.explanation").count()
    page.click("#edit-answer")  # edit and resubmit: the same question, the answer kept
    assert page.input_value("input[name=answer]") == "banana"
    page.focus("input[name=answer]")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("section.grade.invalid")
    page.click("#dont-know")
    page.wait_for_selector("section.explanation")
    assert "Again" in page.inner_text("main") and page.locator("details.reference").is_visible()
    shot(page, "practice-dont-know")
    assert not site.errors
    page.context.close()


def test_choice_result_marks_options(site: Site) -> None:
    page = site.page("learner-choice")
    page.goto(f"{site.base}/practice/q/{site.first_of_kind('multi')}")
    page.locator("input[name=answer]").first.check()
    page.click("form.answer button[type=submit]")
    page.wait_for_selector("ul.options-result")
    marks = page.locator("ul.options-result li")
    assert marks.count() == page.locator("ul.options-result li .text").count() >= 2
    assert page.locator("ul.options-result li.right").count() >= 1
    shot(page, "practice-result-multi")
    page.goto(f"{site.base}/practice/q/{site.first_of_kind('expression')}")
    page.fill("input[name=answer]", "x")
    page.click("form.answer button[type=submit]")
    page.wait_for_selector(".math-answer .katex")  # the reference typeset by KaTeX
    shot(page, "practice-result-expression")
    page.context.close()


def test_study_more_after_the_day(site: Site) -> None:
    page = site.page("learner-more")
    page.goto(f"{site.base}/account")
    page.fill("input[name=new_per_day]", "0")
    page.click("form.stack button[type=submit]")
    page.goto(f"{site.base}/practice/")
    assert "Done for today" in page.inner_text("main")
    shot(page, "practice-done-study-more")
    page.click("#more-new")
    page.wait_for_selector("form.answer")
    assert "beyond today's plan" in page.inner_text("main")
    if page.locator("input[type=radio], input[type=checkbox]").count():
        page.locator("input[name=answer]").first.check()
    elif page.locator("input[name=answer]").count():
        page.fill("input[name=answer]", "1")
    else:
        page.eval_on_selector("textarea[name=answer]", "t => { t.value = 'x' }")
    page.click("form.answer button[type=submit]")
    page.wait_for_selector("#next-link")
    assert "/practice/more?mode=new" in (page.get_attribute("#next-link", "href") or "")
    page.keyboard.press("n")
    page.wait_for_selector("form.answer")
    assert "beyond today's plan" in page.inner_text("main")
    page.context.close()


def test_submit_mock_from_the_last_question(site: Site) -> None:
    page = site.page("learner-mock")
    page.goto(site.base + "/mock/")
    page.locator("form.format", has_text="Quick check").locator("button").click()
    page.wait_for_url(re.compile(r".*/mock/\d+$"))
    page.locator(".mock-nav a").last.click()
    page.wait_for_load_state()
    shot(page, "mock-sit")
    page.click("button:has-text('Submit mock')")  # the confirm dialog is accepted
    page.wait_for_url("**/report")
    assert "Sections" in page.inner_text("main")
    assert page.locator("details.explanation[open]").count() >= 1  # the misses explained
    shot(page, "mock-report")
    page.goto(site.base + "/progress/")
    assert "No mock interviews yet" not in page.inner_text("main")
    page.context.close()


def test_question_browser_filters(site: Site) -> None:
    page = site.page("learner-browse")
    page.goto(site.base + "/questions/")
    total = int(page.inner_text("#found-count").split()[0].replace(",", ""))
    page.select_option("select[name=kind]", "sql")
    page.click("form.search button[type=submit]")
    page.wait_for_url("**kind=sql**")
    kinds = page.locator("table.questions tbody tr td:nth-child(4)").all_inner_texts()
    assert kinds and set(kinds) == {"sql"} and len(kinds) < total
    page.select_option("select[name=status]", "new")
    page.fill("input[name=q]", "zzzz-nothing")
    page.click("form.search button[type=submit]")
    page.wait_for_selector("text=No question matches")
    page.click("text=clear the filters")
    page.locator("a.practise").first.click()
    page.wait_for_url("**/practice/q/**")
    assert page.locator("form.answer").is_visible()
    page.context.close()


def test_phone_layout(site: Site) -> None:
    page = site.page("learner-phone", width=375, height=812, touch=True)
    page.goto(f"{site.base}/practice/q/{site.first_of_kind('code')}")
    page.locator(".code-editor .cm-content").wait_for()
    shot(page, "phone-code")
    header = page.locator("header.top").bounding_box()
    assert header and header["height"] < 80  # the navigation folds away (it took 170 px)
    assert page.locator("#site-nav").is_hidden()
    page.click(".menu-toggle")
    assert page.locator("#site-nav").is_visible() and page.get_attribute(".menu-toggle", "aria-expanded") == "true"
    page.click(".menu-toggle")
    assert page.locator(".keyboard-hint").is_hidden()  # no Ctrl+Enter on a touch screen
    editor = page.locator(".code-editor").bounding_box()
    assert editor and editor["x"] >= 0 and editor["x"] + editor["width"] <= 375
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # nothing sticks out sideways
    h1 = page.eval_on_selector("h1", "e => parseFloat(getComputedStyle(e).fontSize)")
    assert h1 <= 24
    page.locator(".code-editor .cm-content").tap()
    page.keyboard.type("x = 1")
    assert "x = 1" in editor_text(page)
    page.context.close()


# ------------------------------------------------------------- every page: axe-core and screenshots


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}-{page.viewport_size['width']}.png"), full_page=True)


def axe_violations(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page (the vendored copy, injected)."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']})).violations
        .filter(v => v.impact === 'serious' || v.impact === 'critical')
        .map(v => v.id + ': ' + v.help + ' @ ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '))""")
    return list(result)


def _pages(site: Site) -> list[tuple[str, str, Any]]:
    """(name, user, how to reach it) for every page a learner or an instructor sees."""
    numeric = site.first_of_kind("numeric")
    code = site.first_of_kind("code")
    sql = site.first_of_kind("sql")

    def go(path: str) -> Any:
        return lambda page: page.goto(site.base + path)

    def answered(qid: str, fill: Any) -> Any:
        def run(page: Any) -> None:
            page.goto(f"{site.base}/practice/q/{qid}")
            fill(page)
            page.click("form.answer button[type=submit]")
            page.wait_for_selector("section.grade:not(.pending)", timeout=90_000)
        return run

    def first_choice(page: Any) -> None:
        page.locator("input[name=answer]").first.check()

    def mock_report(page: Any) -> None:
        page.goto(site.base + "/mock/")
        page.locator("form.format", has_text="Quick check").locator("button").click()
        page.wait_for_url(re.compile(r".*/mock/\d+$"))
        page.click("button:has-text('Submit mock')")
        page.wait_for_url("**/report")

    def mock_sit(page: Any) -> None:
        page.goto(site.base + "/mock/")
        page.locator("form.format", has_text="Quick check").locator("button").click()
        page.wait_for_url(re.compile(r".*/mock/\d+$"))

    def editor(page: Any) -> None:
        page.goto(site.base + "/instructor/")
        page.fill("form.starter input[name=title]", "Screen me")
        page.select_option("form.starter select[name=kind]", "numeric")
        page.select_option("form.starter select[name=topic]", "evaluation-metrics")
        page.click("form.starter button[type=submit]")
        page.wait_for_selector("textarea[name=yaml]")
        page.click("button[value=check]")
        page.wait_for_load_state()

    def cohort(page: Any) -> None:
        page.goto(site.base + "/instructor/")
        page.fill("input[name=name][aria-label='Cohort name']", "Spring cohort")
        page.click("button:has-text('Create cohort')")
        page.wait_for_url(re.compile(r".*/cohorts/\d+$"))

    return [
        ("practice-question", "learner-pages", go(f"/practice/q/{numeric}")),
        ("practice-code", "learner-pages", go(f"/practice/q/{code}")),
        ("practice-sql", "learner-pages", go(f"/practice/q/{sql}")),
        ("practice-result-choice", "learner-pages", answered(site.first_of_kind("choice"), first_choice)),
        ("practice-result-numeric", "learner-pages", answered(numeric, lambda p: p.fill("input[name=answer]", "123456789"))),
        ("practice-result-sql", "learner-pages", answered(sql, lambda p: set_editor(p, "SELECT 1 AS x"))),
        ("practice-result-rubric", "learner-pages", answered(site.first_of_kind("rubric"), lambda p: p.fill(
            "textarea[name=answer]", "I would start from the metric, then the data, the baseline, and the trade-offs " * 3))),
        ("questions", "learner-pages", go("/questions/")),
        ("question", "learner-pages", go(f"/questions/{numeric}")),
        ("mock-index", "learner-pages", go("/mock/")),
        ("mock-sitting", "learner-pages", mock_sit),
        ("mock-report-all", "learner-pages", mock_report),
        ("progress", "learner-pages", go("/progress/")),
        ("settings", "learner-pages", go("/account")),
        ("instructor-home", "teacher-pages", go("/instructor/")),
        ("instructor-editor", "teacher-pages", editor),
        ("instructor-items", "teacher-pages", go("/instructor/items")),
        ("instructor-formats", "teacher-pages", go("/instructor/formats")),
        ("instructor-import", "teacher-pages", go("/instructor/import")),
        ("instructor-cohort", "teacher-pages", cohort),
        ("not-found", "learner-pages", go("/practice/q/no-such-question")),
    ]


@pytest.mark.parametrize("width", [1280, 375])
def test_every_page_is_accessible_and_photographed(site: Site, width: int) -> None:
    """No serious or critical axe-core violation on any page, at desktop and phone widths; a
    full-page screenshot of each goes to e2e-screenshots/ to be looked at."""
    problems: dict[str, list[str]] = {}
    anonymous = site.browser.new_context(viewport={"width": width, "height": 900})
    anon = anonymous.new_page()
    for name, path in (("signin", "/signin"), ("signup", "/signup")):
        anon.goto(site.base + path)
        shot(anon, name)
        problems[name] = axe_violations(anon)
    anonymous.close()
    pages: dict[str, Any] = {}
    for name, user, reach in _pages(site):
        if user not in pages:
            pages[user] = site.page(user, width=width, height=900)
        page = pages[user]
        reach(page)
        page.wait_for_load_state("load")
        shot(page, name)
        problems[name] = axe_violations(page)
        wide = page.evaluate("document.documentElement.scrollWidth")
        if wide > width:  # the page scrolls sideways: something does not fit the screen
            problems[name].append(f"page is {wide} px wide at {width} px")
    for page in pages.values():
        page.context.close()
    bad = {k: v for k, v in problems.items() if v}
    (SHOTS / f"axe-{width}.json").write_text(json.dumps(bad, indent=1))
    assert not bad, bad
    assert not site.errors, site.errors


def test_every_question_fits_a_phone_screen(site: Site) -> None:
    """A mock report holding every active question (prompt, the grade panel, the explanation)
    is no wider than a 375 px phone: a long formula, a wide table or a long identifier scrolls in
    its own box. The screenshots test above meets only the three questions a quick mock drew, so
    a wide question once failed it at random."""
    page = site.page("learner-every-question", width=375, height=900)
    with Session(site.engine) as s:
        user = s.exec(select(User).where(User.name == "learner-every-question")).one()
        n = len(s.exec(select(Question.id).where(Question.status == "active")).all())
        areas = sorted({a for a in s.exec(select(Question.area).where(Question.status == "active")).all()})
        sections = [{"name": f"Part {i + 1}", "areas": areas, "count": min(20, n - 20 * i)} for i in range((n + 19) // 20)]
        s.add(MockFormat(slug="every-question", name="Every question", minutes=240, sections=sections, owner_id=user.id))
        s.commit()
        sitting = mock.start(s, user, "every-question", datetime.now(timezone.utc))
        mock.finish(s, user, sitting.id, datetime.now(timezone.utc))
        mock_id = sitting.id
    page.goto(f"{site.base}/mock/{mock_id}/report", timeout=120_000)
    page.wait_for_load_state("load")
    page.evaluate("document.fonts.ready")
    assert page.locator("article.report-item").count() == n
    sticking_out = page.evaluate("""() => {
        const width = document.documentElement.clientWidth, out = new Set();
        for (const item of document.querySelectorAll('article.report-item')) {
          for (const el of item.querySelectorAll('*')) {
            if (el.getBoundingClientRect().right <= width + 0.5) continue;
            let a = el.parentElement, scrolls = false;
            for (; a && a !== item; a = a.parentElement) {
              if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(a).overflowX)) { scrolls = true; break; }
            }
            if (!scrolls) out.add(item.querySelector('h2').textContent.trim());
          }
        }
        return [...out]; }""")
    assert not sticking_out, f"wider than 375 px: {sticking_out}"
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    unreachable = page.evaluate("""() => [...document.querySelectorAll('.math.wide, .katex-display, .table-scroll, pre')]
        .filter(el => el.scrollWidth > el.clientWidth + 1 && !el.hasAttribute('tabindex')).length""")
    assert unreachable == 0, "a box that scrolls sideways must take keyboard focus"
    page.context.close()
    assert not site.errors, site.errors
