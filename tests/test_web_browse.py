"""The first page flow through Flask's test client: browse, open, answer, see the grade."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlmodel import Session

from interview import bank
from interview.sync import sync_bank
from interview.web import create_app

QID = "f1-from-confusion-counts"


@pytest.fixture
def client(engine: sa.Engine) -> FlaskClient:
    loaded, problems = bank.load_bank()
    with Session(engine) as s:
        sync_bank(s, loaded)
    app = create_app({"ENGINE": engine, "SECRET_KEY": "test", "TESTING": True})
    return app.test_client()


def form_fields(html: bytes) -> dict[str, str]:
    return {m.group(1).decode(): m.group(2).decode() for m in re.finditer(rb'name="(csrf_token|seed)" value="([^"]*)"', html)}


def test_browse_by_area_and_topic(client: FlaskClient) -> None:
    page = client.get("/questions/?area=ml&topic=evaluation-metrics")
    assert page.status_code == 200 and b"F1 score from confusion counts" in page.data
    assert b"F1 score" not in client.get("/questions/?area=math").data
    assert client.get("/questions/?area=astrology").status_code == 400
    assert client.get("/").status_code == 302


def test_open_answer_and_see_grade_and_explanation(client: FlaskClient) -> None:
    page = client.get(f"/questions/{QID}")
    assert page.status_code == 200
    fields = form_fields(page.data)
    seed = int(fields["seed"])
    tp, fp, fn = map(int, re.search(rb"makes (\d+) true positives, (\d+) false positives and (\d+) false", page.data).groups())
    right = 2 * tp / (2 * tp + fp + fn)
    done = client.post(f"/questions/{QID}", data={**fields, "answer": f"{right:.4f}"})
    assert done.status_code == 200 and b"Correct" in done.data and b"Explanation" in done.data
    wrong = client.post(f"/questions/{QID}", data={**fields, "answer": "banana"})
    assert b"Invalid" in wrong.data and b"Could not read" in wrong.data
    assert seed == int(form_fields(done.data)["seed"])  # the same variant stays on screen


def test_csrf_and_tampered_forms(client: FlaskClient) -> None:
    page = client.get(f"/questions/{QID}")
    fields = form_fields(page.data)
    no_token = client.post(f"/questions/{QID}", data={"seed": fields["seed"], "answer": "1"})
    assert no_token.status_code == 400 and b"Reload the page" in no_token.data
    bad_seed = client.post(f"/questions/{QID}", data={**fields, "seed": "-5"})
    assert bad_seed.status_code == 400
    missing = client.get("/questions/no-such-thing")
    assert missing.status_code == 404 and b"Traceback" not in missing.data


def test_markdown_is_sanitised() -> None:
    from interview.render import markdown_html

    html = str(markdown_html("Hi <script>alert(1)</script> **bold** $a_1 * b_2$ [x](javascript:alert(1))"))
    assert "<script>" not in html and "javascript:" not in html
    assert "<strong>bold</strong>" in html
    assert '<span class="math inline">a_1 * b_2</span>' in html


def test_variant_text_renders_from_its_cached_template_as_a_fresh_render_would() -> None:
    """A variant's HTML comes from its template's cached HTML with the values escaped in;
    it must equal rendering the filled text, and a value can never smuggle markup in."""
    from graders import variants
    from interview.render import _markdown_html, markdown_html

    template = "Given $x = {x}$ and **n = {n}**, in `{n}` steps ({label})."
    for params in ({"x": 0.25, "n": 3, "label": "a < b & c"}, {"x": -1.5, "n": 12, "label": "1 * 2 = 2"}):
        text = variants.render(template, params)
        assert isinstance(text, variants.Filled)
        assert str(markdown_html(text)) == str(_markdown_html.__wrapped__(str(text)))
    hostile = markdown_html(variants.render(template, {"x": 1, "n": 2, "label": "<script>alert(1)</script>"}))
    assert "<script>" not in str(hostile) and "&lt;script&gt;" in str(hostile)

    # a slot inside a tag (here a link's address) is rendered whole, so the sanitiser sees the value
    link = variants.render("[see]({url})", {"url": "javascript:alert(1)"})
    assert "javascript:" not in str(markdown_html(link))
