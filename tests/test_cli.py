"""The CLI seam: show, grade (stable JSON), validate and sync, run as real subprocesses."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.test_bank_loader import GOOD

QID = "f1-from-confusion-counts"


def cli(*args: str, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "interview", *args], capture_output=True, text=True, env=env, timeout=120)


def test_show_json_is_deterministic() -> None:
    a = cli("show", "--question", QID, "--seed", "5", "--json")
    b = cli("show", "--question", QID, "--seed", "5", "--json")
    assert a.returncode == 0, a.stderr
    data = json.loads(a.stdout)
    assert data == json.loads(b.stdout)
    assert data["question_id"] == QID and data["seed"] == 5 and str(data["params"]["tp"]) in data["prompt"]
    assert "expected" not in data["data"]  # the answer is not leaked by `show`


def test_grade_json_fields() -> None:
    shown = json.loads(cli("show", "--question", QID, "--seed", "5", "--json").stdout)
    p = shown["params"]
    right = 2 * p["tp"] / (2 * p["tp"] + p["fp"] + p["fn"])
    out = cli("grade", "--question", QID, "--seed", "5", "--answer", f"{right:.4f}", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["score"] == 1.0 and data["verdict"] == "correct" and isinstance(data["feedback"], list)
    wrong = json.loads(cli("grade", "--question", QID, "--seed", "5", "--answer", "0.01", "--json").stdout)
    assert (wrong["score"], wrong["verdict"]) == (0.0, "incorrect")
    garbage = json.loads(cli("grade", "--question", QID, "--seed", "5", "--answer", "nan", "--json").stdout)
    assert garbage["verdict"] == "invalid" and "finite" in garbage["feedback"][0]


def test_grade_takes_a_file_path_and_answer_file(tmp_path: Path) -> None:
    qfile = tmp_path / "good-question.yaml"
    qfile.write_text(GOOD)
    shown = json.loads(cli("show", "--question", str(qfile), "--seed", "1", "--json").stdout)
    answer = tmp_path / "answer.txt"
    answer.write_text(str(shown["params"]["a"] + shown["params"]["b"]))
    out = json.loads(cli("grade", "--question", str(qfile), "--seed", "1", "--answer-file", str(answer), "--json").stdout)
    assert out["verdict"] == "correct"


def test_grade_errors_are_clear() -> None:
    out = cli("grade", "--question", "no-such-question", "--answer", "1")
    assert out.returncode == 2 and "no question 'no-such-question'" in out.stderr
    out = cli("grade", "--question", QID)
    assert out.returncode == 2 and "exactly one of --answer" in out.stderr


def test_validate_exit_codes(tmp_path: Path) -> None:
    (tmp_path / "good-question.yaml").write_text(GOOD)
    ok = cli("validate", str(tmp_path))
    assert ok.returncode == 0 and "1 question(s) loaded, 0 problem(s)" in ok.stdout
    (tmp_path / "bad.yaml").write_text(GOOD.replace("id: good-question", "id: bad").replace("{b}?", "{c}?"))
    bad = cli("validate", str(tmp_path))
    assert bad.returncode == 1
    assert "bad.yaml: prompt: seed 0: '{c}' is not a parameter of this question" in bad.stdout


def test_validate_reports_every_problem_in_one_pass(tmp_path: Path) -> None:
    """A wrong difficulty no longer hides an unknown name in a formula; each is under its own field,
    and hostile YAML (aliases, deep nesting) is a listed problem, not a traceback."""
    (tmp_path / "two-problems.yaml").write_text(
        GOOD.replace("id: good-question", "id: two-problems").replace("difficulty: 2", "difficulty: 7")
        .replace("value: a + b", "value: a + bogus"))
    (tmp_path / "bomb.yaml").write_text("a: &a [x, x, x]\nb: [*a, *a, *a]\n")
    (tmp_path / "deep.yaml").write_text("id: " + "[" * 10_000)
    out = cli("validate", str(tmp_path))
    assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr
    lines = out.stdout.splitlines()
    assert f"{tmp_path / 'two-problems.yaml'}: difficulty: must be at most 5, not 7" in lines
    assert (f"{tmp_path / 'two-problems.yaml'}: answer.value: seed 0: 'a + bogus' does not give one number: "
            "unknown name 'bogus'") in lines
    assert f"{tmp_path / 'bomb.yaml'}: line 1, column 4: anchors ('&a') are not allowed in question files: write each value out in full" in lines
    assert f"{tmp_path / 'deep.yaml'}: line 1, column 44: the YAML is nested more than 40 levels deep" in lines
    assert lines[-1] == "0 question(s) loaded, 4 problem(s), 0 warning(s)"


def test_sync_prints_counts_and_is_idempotent(tmp_path: Path) -> None:
    (tmp_path / "good-question.yaml").write_text(GOOD)
    env = {"INTERVIEW_DATA_DIR": str(tmp_path / "data")}
    first = cli("sync", str(tmp_path), env_extra=env)
    assert first.returncode == 0, first.stderr
    assert "added 1, changed 0, unchanged 0, retired 0" in first.stdout
    second = cli("sync", str(tmp_path), env_extra=env)
    assert "added 0, changed 0, unchanged 1, retired 0" in second.stdout


def test_admins_are_made_only_at_the_command_line(tmp_path: Path) -> None:
    env = {"INTERVIEW_DATA_DIR": str(tmp_path / "data")}
    made = cli("user", "add", "root", "--admin", "--password", "root password", env_extra=env)
    assert made.returncode == 0 and "created admin 'root'" in made.stdout, made.stderr
    both = cli("user", "add", "two", "--admin", "--instructor", "--password", "two password", env_extra=env)
    assert both.returncode == 2 and "one of --instructor or --admin" in both.stderr
