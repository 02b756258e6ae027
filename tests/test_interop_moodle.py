"""Moodle XML in and out: fixture files written to the Moodle XML spec, all-or-nothing import
through the one loader, untrusted XML refused, and the export-import round trip over the bank."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from sqlmodel import Session, select

import graders
from interview import accounts, authoring, bank
from interview.interop import moodle_xml
from interview.models import Question

FIXTURES = Path(__file__).parent / "fixtures" / "interop"


def _by_title(items: list) -> dict:
    return {yaml.safe_load(i.text)["title"]: yaml.safe_load(i.text) for i in items if i.text}


def test_mixed_file_converts_every_kind() -> None:
    items = moodle_xml.parse((FIXTURES / "moodle_mixed.xml").read_bytes(), "moodle_mixed.xml")
    assert [i.refused for i in items] == [None] * 7
    q = _by_title(items)
    prec = q["Precision definition"]
    assert prec["kind"] == "choice" and prec["answer"]["correct"] == 0
    assert prec["topics"] == ["evaluation-metrics"] and prec["area"] == "ml"  # from the category path
    assert "$TP = 30$" in prec["prompt"] and "**precision**" in prec["prompt"]  # \( \) -> $ $, HTML -> Markdown
    assert prec["answer"]["options"][1] == {"text": "$TP/(TP+FN)$", "why": "That is recall."}
    assert prec["hints"] == ["Look at what the classifier *called* positive."]
    multi = q["Metrics that ignore true negatives"]
    assert multi["kind"] == "multi" and multi["answer"]["correct"] == [0, 1, 2] and multi["difficulty"] == 3
    assert multi["id"] == "metrics-without-tn"  # the idnumber
    tf = q["ROC AUC and class balance"]
    assert tf["answer"] == {"options": ["True", "False"], "correct": 1, "shuffle": False}
    num = q["Recall from counts"]
    assert num["answer"] == {"value": 0.75, "atol": 0.005}
    recall_item = next(i for i in items if i.text and "Recall from counts" in i.text)
    assert any("confusion.png" in n and "not imported" in n for n in recall_item.notes)
    assert any("units were ignored" in n for n in recall_item.notes)
    assert any("explanation states the answer" in n for n in recall_item.notes)  # empty general feedback
    assert q["Name the curve"]["kind"] == "rubric"
    assert q["Name the curve"]["answer"]["points"][0]["phrases"] == ["ROC curve", "receiver operating characteristic"]
    assert q["Count the folds"]["kind"] == "numeric" and q["Count the folds"]["answer"]["value"] == 10
    essay = q["Explain precision-recall trade-off"]
    assert essay["kind"] == "rubric" and "cancer screening" in essay["answer"]["model_answer"]
    for item in items:
        bank.load_text(item.text, item.source)  # every one passes the one loader


def test_calculated_datasets_become_params_and_grade() -> None:
    items = moodle_xml.parse((FIXTURES / "moodle_calculated.xml").read_bytes(), "moodle_calculated.xml")
    q = _by_title(items)
    game = q["Expected value of a die game"]
    assert game["id"] == "expected-gain-game" and game["topics"] == ["probability"] and game["area"] == "math"
    assert game["params"] == {"a": {"int": [5, 20]}, "b": {"int": [1, 10]}, "p": {"float": [0.1, 0.9], "digits": 2}}
    assert game["answer"] == {"value": "a * p - b * (1 - p)", "rtol": 0.01}
    assert "{a} dollars with probability {p}" in game["prompt"]
    se = q["Standard error of a mean"]
    assert se["answer"] == {"value": "s / sqrt(n)", "atol": 0.001}
    assert se["params"]["s"] == {"float": [0.5, 5.0], "digits": 1}
    assert any("log-uniform" in n for n in items[1].notes)
    doubled = q["Mean of a doubled sample"]  # {=...} text formulas become formula parameters
    assert doubled["params"] == {"m": {"int": [2, 9]}, "f1": {"formula": "m + 1"}, "f2": {"formula": "m * 2"},
                                 "f3": {"formula": "3 * m + 1"}}
    assert "then {f1} is added, so the new values start from {f2}" in doubled["prompt"]
    assert "{f3}" in doubled["explanation"]
    variant = graders.instantiate(bank.load_text(items[2].text, "doubled"), 0)
    assert f"then {variant.params['m'] + 1} is added" in variant.prompt
    question = bank.load_text(items[0].text, "game")
    for seed in range(5):
        v = graders.instantiate(question, seed)
        a, b, p = v.params["a"], v.params["b"], v.params["p"]
        assert 5 <= a <= 20 and 0.1 <= p <= 0.9
        expected = a * p - b * (1 - p)
        assert graders.grade(question, v, f"{expected:.6f}").score == 1.0
        assert graders.grade(question, v, f"{expected + max(1.0, abs(expected)) * 0.05:.6f}").score == 0.0


def test_coderunner_python3_becomes_a_code_question() -> None:
    (item,) = moodle_xml.parse((FIXTURES / "moodle_coderunner.xml").read_bytes(), "moodle_coderunner.xml")
    data = yaml.safe_load(item.text)
    assert data["kind"] == "code" and data["id"] == "first-repeated-character" and data["topics"] == ["hashing"]
    spec = data["answer"]
    assert spec["function"] == "first_repeat" and "seen = set()" in spec["reference"]
    assert spec["tests"]["visible"] == [{"args": ["abcab"], "expected": "a"}, {"args": ["abc"], "expected": None}]
    assert spec["tests"]["hidden"] == [{"args": ["xyzzy"], "expected": "z"}, {"args": [""], "expected": None}]
    assert spec["starter"].startswith("def first_repeat(s):")


def _teacher(session: Session):  # type: ignore[no-untyped-def]
    return accounts.create_user(session, "teach", "correct horse battery", role="instructor")


def test_import_is_all_or_nothing_and_owned_by_the_importer(session: Session, tmp_path: Path) -> None:
    teacher = _teacher(session)
    bad = tmp_path / "partly.xml"
    shutil.copy(FIXTURES / "moodle_partly_refused.xml", bad)
    good = tmp_path / "mixed.xml"
    shutil.copy(FIXTURES / "moodle_mixed.xml", good)
    with pytest.raises(authoring.AuthoringError) as info:
        authoring.import_questions(session, [good, bad], teacher, seeds=2)
    messages = [str(p) for p in info.value.problems]
    assert any("Match losses to tasks" in m and "matching" in m and "no counterpart" in m for m in messages), messages
    assert session.exec(select(Question)).all() == []  # the good file's questions were not imported either
    report = authoring.import_questions(session, [good, FIXTURES / "moodle_coderunner.xml"], teacher, seeds=2)
    assert len(report.added) == 8
    assert any(n.startswith("recall-from-counts: image 'confusion.png'") for n in report.notes)
    row = session.get(Question, "first-repeated-character")
    assert row is not None and row.author_id == teacher.id and row.origin == "imported"


def test_untrusted_xml_is_refused(tmp_path: Path, session: Session) -> None:
    laughs = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
              "<quiz>&lol2;</quiz>")
    external = '<?xml version="1.0"?><!DOCTYPE quiz [<!ENTITY x SYSTEM "file:///etc/passwd">]><quiz>&x;</quiz>'
    for name, text in (("laughs.xml", laughs), ("external.xml", external), ("broken.xml", "<quiz><question>")):
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(authoring.AuthoringError) as info:
            authoring.import_questions(session, [path], None)
        message = str(info.value)
        assert ("DTD" in message) if name != "broken.xml" else ("not well-formed" in message and "line 1" in message)
        assert "root:" not in message


# ---------------------------------------------------------------- round trip over the bank

CODE_SAMPLE = 3  # code questions run the sandbox: a few keep the suite fast


def _answers(question, variant) -> list[str]:  # type: ignore[no-untyped-def]
    ref = graders.reference_answer(question, variant)
    if question.kind in ("choice", "multi"):
        letters = [o["label"] for o in variant.data["options"]]
        return letters + [", ".join(letters[:2]), ref]
    if question.kind == "numeric":
        x = float(ref)
        return [ref, repr(x * 1.004), repr(x * 1.02 + 0.001), repr(x + 1), repr(-x)]
    if question.kind == "rubric":
        spec = question.spec
        return [ref, "I do not know.", *(p.phrases[0] for p in spec.points)]
    if question.kind == "code":
        return [ref, f"def {question.spec.function}(*args):\n    return None\n"]
    return [ref]


def test_export_import_round_trip_grades_the_same(bundled_bank: list) -> None:
    questions = [item.question for item in bundled_bank]
    data, _notes, refused = moodle_xml.export(questions)
    refused_ids = {qid for qid, _ in refused}
    assert not any(q.kind in ("choice", "multi", "rubric") and not q.params and q.id in refused_ids for q in questions)
    back = {i.qid: i for i in moodle_xml.parse(data, "bank.xml")}
    assert not [i.refused for i in back.values() if i.refused]
    exported = [q for q in questions if q.id not in refused_ids]
    assert len(exported) >= 250 and set(back) == {q.id for q in exported}
    kinds = {q.kind for q in exported}
    assert {"choice", "multi", "numeric", "rubric", "code"} <= kinds
    assert any(q.params for q in exported if q.kind == "numeric")  # calculated questions among them
    code_seen = 0
    for original in exported:
        if original.kind == "code":
            code_seen += 1
            if code_seen > CODE_SAMPLE:
                continue
        again = bank.load_text(back[original.id].text, original.id)
        assert (again.kind, again.topics, again.difficulty, again.time_limit) == \
               (original.kind, original.topics, original.difficulty, original.time_limit)
        for seed in (range(3) if original.params else range(1)):
            v1, v2 = graders.instantiate(original, seed), graders.instantiate(again, seed)
            drawn = {n for n, p in original.params.items() if p.formula is None}  # formula ones come back as f1, f2...
            assert {n: v1.params[n] for n in drawn} == {n: v2.params[n] for n in drawn}, original.id
            for answer in _answers(original, v1):
                g1, g2 = graders.grade(original, v1, answer), graders.grade(again, v2, answer)
                assert (g1.score, g1.verdict) == pytest.approx((g2.score, g2.verdict)), (original.id, seed, answer)


def test_hostile_formulas_and_tests_are_refused_not_raised() -> None:
    deep = "(" * 5000 + "{a}" + ")" * 5000
    xml = (f'<quiz><question type="calculated"><name><text>Deep</text></name>'
           f'<questiontext><text>Compute the value of the wildcard {{a}} please.</text></questiontext>'
           f'<answer fraction="100"><text>{deep}</text><tolerance>0.01</tolerance></answer>'
           f'<dataset_definitions><dataset_definition><name><text>a</text></name><minimum><text>1</text></minimum>'
           f'<maximum><text>2</text></maximum><decimals><text>0</text></decimals></dataset_definition></dataset_definitions>'
           f'</question><question type="coderunner"><name><text>Deep code</text></name>'
           f'<questiontext><text>Write f(x) returning x twice.</text></questiontext><coderunnertype>python3</coderunnertype>'
           f'<answer>def f(x):\n    return 2*x\n</answer><testcases><testcase><testcode><text>print(repr(f({"[" * 150}{"]" * 150})))'
           f'</text></testcode><expected><text>{"[" * 3000}</text></expected><display><text>SHOW</text></display>'
           f'</testcase></testcases></question></quiz>')
    deep_q, code_q = moodle_xml.parse(xml.encode(), "deep.xml")
    assert deep_q.refused == "the formula is longer than 2000 characters"
    assert code_q.refused == f"the expected output '{'[' * 40}' is not a Python value"  # repr() output must parse


def test_a_converted_question_failing_its_check_names_the_file_and_id(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "course.xml"
    path.write_text('<quiz><question type="coderunner"><name><text>Broken reference</text></name>'
                    '<questiontext><text>Write double(x) returning twice x.</text></questiontext>'
                    '<coderunnertype>python3</coderunnertype><answer>def double(x):\n    return 3 * x\n</answer>'
                    '<testcases><testcase useasexample="1"><testcode><text>print(double(2))</text></testcode>'
                    '<expected><text>4</text></expected><display><text>SHOW</text></display></testcase>'
                    '</testcases></question></quiz>')
    with pytest.raises(authoring.AuthoringError) as info:
        authoring.import_questions(session, [path], None, seeds=1)
    (problem,) = info.value.problems
    assert problem.file == "course.xml: broken-reference"
    assert "returned 6, expected 4" in problem.message


def test_moodle_xml_and_gift_inside_a_zip_are_converted(session: Session) -> None:
    """A zip of a course's exports (YAML beside Moodle XML and GIFT, in folders) imports all of
    them; before, the .xml and .gift files in a zip were skipped without a word."""
    import io
    import zipfile

    teacher = _teacher(session)
    yaml_text = (bank.default_bank_path() / "ml" / "f1-from-confusion-counts.yaml").read_text()
    yaml_text = yaml_text.replace("id: f1-from-confusion-counts", "id: zipped-f1")

    def zipped(files: dict[str, str | Path]) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            for name, content in files.items():
                if isinstance(content, Path):
                    z.write(content, name)
                else:
                    z.writestr(name, content)
        return buf.getvalue()

    with pytest.raises(authoring.AuthoringError) as info:  # one refused question: nothing imported
        authoring.import_questions(session, zipped({"course/zipped-f1.yaml": yaml_text,
                                                           "course/moodle/mixed.xml": FIXTURES / "moodle_mixed.xml",
                                                           "course/moodle/partly.xml": FIXTURES / "moodle_partly_refused.xml"}),
                                   teacher, seeds=2)
    assert any(p.file.startswith("course/moodle/partly.xml") and "no counterpart" in p.message
               for p in info.value.problems), info.value.problems
    assert session.exec(select(Question)).all() == []
    gift = "::Two plus two:: What is 2 + 2? {#4:0####Two and two make four: count them on your fingers.}\n"
    report = authoring.import_questions(session, zipped({"course/zipped-f1.yaml": yaml_text,
                                                                "course/moodle/mixed.xml": FIXTURES / "moodle_mixed.xml",
                                                                "course/gift/quiz.gift": gift}), teacher, seeds=2)
    assert "zipped-f1" in report.added and "two-plus-two" in report.added
    assert len(report.added) == 1 + 1 + 7  # the YAML file, the GIFT question and the XML file's questions
    assert any(n.startswith("recall-from-counts: image") for n in report.notes)
