"""Quizzes: question banks (JSON data files), checking answers, and scoring saved answers.

Two modes:

* **practice** banks ship with the package (``quizbank/<name>.json``): the ``Quiz`` widget checks
  each answer at once and explains it, so the key is necessarily with the learner (anyone can
  read the package). For self-study and for quizzes whose marks do not matter.
* **exam** banks live with the instructor's sources (``assignments/quiz_<name>.json``, with
  ``"mode": "exam"``): ``kms-teach assign`` writes a notebook holding the questions and option ids
  only (:func:`exam_spec`: no key, no feedback), the widget records answers without checking
  them, and ``kms-teach grade`` scores them against the instructor's bank.

A bank is ``{"bank", "title", "mode"?, "questions": [...]}``. Each question has an ``id``, the
``topic`` (the course notes' section) and a ``type``:

* ``single`` / ``multiple``: ``options`` = ``[{"id", "text", "correct"?, "feedback"}]``; the answer
  is an option id, or a list of them (all and only the correct ones score);
* ``numeric``: ``answer``, ``tolerance`` (absolute) and ``unit``; the answer is a number, written as people
  write it ("4096", "4,096", "4 KB" for bytes, "7 days", "1 week" for days);
* ``text``: ``accept`` = the accepted answers, compared ignoring case, spaces, hyphens, underscores and a
  final full stop;
* ``engine``: a key ``policy``, an ``action`` (and an ``encryption_context``) and ``principals``
  (``{"id", "label", "iam_policy" or "arn"}``): "which of these principals may do it?". The right
  options are not written down: the permissions engine decides them, on a fresh cloud, with the
  same evaluation the calls get. ``ACCOUNT`` in the JSON stands for the account ID.

The quiz widget (``kms_teach.widgets.Quiz``) saves the answers in the notebook as an output of MIME
type :data:`ANSWERS_MIME`; :func:`saved_answers` finds them and :func:`score` grades them, so the
same ``kms-teach grade`` scores quizzes and exercises. Answers are kept by question and option id,
so the per-student shuffle (:meth:`Bank.shuffled`) needs no key to undo.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ANSWERS_MIME = "application/vnd.kms-teach.quiz-answers+json"
BANK_DIR = Path(__file__).resolve().parent / "quizbank"
TYPES = ("single", "multiple", "numeric", "text", "engine")


class QuizError(ValueError):
    """A bank that breaks the format, or an answer of the wrong shape."""


@dataclass
class Option:
    id: str
    text: str
    correct: bool = False
    feedback: str = ""


@dataclass
class Question:
    id: str
    topic: str
    type: str
    prompt: str
    points: int = 1
    options: list[Option] = field(default_factory=list)
    answer: float | None = None
    tolerance: float = 0.0
    unit: str = ""
    accept: list[str] = field(default_factory=list)
    feedback_right: str = ""
    feedback_wrong: str = ""

    @property
    def multiple(self) -> bool:
        return self.type in ("multiple", "engine")


@dataclass
class Verdict:
    correct: bool
    feedback: str


@dataclass
class Bank:
    name: str
    title: str
    questions: list[Question]
    mode: str = "practice"  # or "exam": the key stays with the instructor
    path: Path | None = None
    raw: dict = field(default_factory=dict)  # the questions as written, by id

    def question(self, qid: str) -> Question:
        for q in self.questions:
            if q.id == qid:
                return q
        raise QuizError(f"no question {qid!r} in the bank {self.name}")

    @property
    def total_points(self) -> int:
        return sum(q.points for q in self.questions)

    def shuffled(self, seed: str | int | None) -> list[Question]:
        """The questions, and each one's options, in an order fixed by ``seed`` (None: as written)."""
        if seed is None:
            return list(self.questions)
        rng = random.Random(hashlib.sha256(f"{self.name}:{seed}".encode()).digest())
        out = []
        for q in self.questions:
            options = list(q.options)
            rng.shuffle(options)
            out.append(Question(**{**q.__dict__, "options": options}))
        rng.shuffle(out)
        return out


def _normal(text: str) -> str:
    """A text answer as compared: case, spaces, hyphens and underscores, surrounding quotes and a final full
    stop do not matter ("HMAC_256" = "hmac 256" = "hmac-256"; "Customer Master Key." = "customer master key")."""
    text = str(text).strip().strip("\"'`").strip().rstrip(".").casefold()
    return re.sub(r"[\s_-]+", "", text)


# The units a numeric answer may carry, by the question's unit: the factor to the question's unit. KMS's
# documentation writes 4 KB for 4096 bytes (Encrypt's Plaintext: "up to 4,096 bytes"), so KB is 1024 here.
_UNITS = {
    "bytes": {"": 1, "b": 1, "byte": 1, "bytes": 1, "kb": 1024, "kib": 1024, "kilobyte": 1024, "kilobytes": 1024},
    "days": {"": 1, "d": 1, "day": 1, "days": 1, "week": 7, "weeks": 7},
}
_NUMBER = re.compile(r"^\s*([-+]?(?:\d{1,3}(?:[,\u00a0\u202f ]\d{3})+|\d+)(?:\.\d+)?)\s*([a-z]*)\.?\s*$", re.IGNORECASE)


def _number(answer, unit: str) -> float | None:
    """The number an answer means, in the question's unit: 4096, "4096", "4,096", "4 096", "4 KB", "4KiB",
    "4096 bytes", "7 days", "1 week"; None for anything else (a unit of another kind, words, ...)."""
    if isinstance(answer, bool):
        return None
    if isinstance(answer, (int, float)):
        try:
            value = float(answer)
        except OverflowError:  # an int too large for a float (10 ** 400)
            return None
        return value if math.isfinite(value) else None
    if not isinstance(answer, str):
        return None
    found = _NUMBER.match(answer)
    if not found:
        return None
    digits, word = found.group(1), found.group(2).casefold()
    factors = _UNITS.get(unit.casefold(), {"": 1, unit.casefold(): 1})
    if word not in factors:
        return None
    try:
        value = float(re.sub(r"[,\u00a0\u202f ]", "", digits)) * factors[word]
    except (ValueError, OverflowError):
        return None
    return value if math.isfinite(value) else None


def check(question: Question, answer: Any) -> Verdict:
    """Is ``answer`` right, and the feedback for it (per chosen option where there are options)."""
    # Saved answers are JSON a learner can edit: any shape must get a verdict, never an exception.
    if answer is None or (isinstance(answer, str) and not answer.strip()):
        return Verdict(False, "not answered")
    if question.type == "single":
        chosen = [o for o in question.options if isinstance(answer, str) and o.id == answer]
        if not chosen:
            return Verdict(False, f"{str(answer)[:40]!r} is not one of the options")
        return Verdict(chosen[0].correct, chosen[0].feedback)
    if question.multiple:
        # An empty list is an answer ("none of them"); the widget saves one when nothing is ticked.
        if not isinstance(answer, (list, tuple)) or not all(isinstance(a, str) for a in answer):
            return Verdict(False, "the answer must be a list of option ids")
        picked = set(answer)
        known = {o.id for o in question.options}
        if not picked <= known:
            return Verdict(False, f"{sorted(picked - known)[:5]} are not options")
        right = {o.id for o in question.options if o.correct}
        notes = [f"{o.text} - {o.feedback}" for o in question.options if o.id in picked and o.feedback]
        missed = [o.text for o in question.options if o.correct and o.id not in picked]
        if missed:
            notes.append("also true: " + "; ".join(missed))
        return Verdict(picked == right, "\n".join(notes))
    if question.type == "numeric":
        value = _number(answer, question.unit)
        if value is None:
            unit = f" of {question.unit}" if question.unit else ""
            return Verdict(False, f"{str(answer)[:40]!r} is not a number{unit}")
        ok = abs(value - float(question.answer)) <= question.tolerance
        return Verdict(ok, question.feedback_right if ok else question.feedback_wrong)
    if not isinstance(answer, (str, int, float)):
        return Verdict(False, "the answer must be text")
    ok = _normal(answer) in {_normal(a) for a in question.accept}
    return Verdict(ok, question.feedback_right if ok else question.feedback_wrong)


# ---------------------------------------------------------------------- banks


def bank_names() -> list[str]:
    """The practice banks the package ships."""
    return sorted(p.stem for p in BANK_DIR.glob("*.json"))


def exam_paths(folder: str | Path) -> list[Path]:
    """The exam banks of an instructor's folder (``quiz_<name>.json``)."""
    return sorted(Path(folder).glob("quiz_*.json"))


def load_bank(name: str = "kms-exam", folder: str | Path | None = None) -> Bank:
    """A bank by name: the instructor's ``folder/quiz_<name>.json`` if there is one, else the
    package's practice bank ``<name>``; or a bank file by path (a name ending in .json)."""
    if str(name).endswith(".json"):
        path = Path(name)
    elif folder is not None and (Path(folder) / f"quiz_{name}.json").is_file():
        path = Path(folder) / f"quiz_{name}.json"
    else:
        path = BANK_DIR / f"{name}.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError:
        raise QuizError(f"no quiz bank {name!r} (banks: {', '.join(bank_names())})") from None
    except ValueError as exc:
        raise QuizError(f"{path}: not valid JSON ({exc})") from None
    mode = doc.get("mode", "practice")
    if mode not in ("practice", "exam"):
        raise QuizError(f"{path.name}: mode is practice or exam, not {mode!r}")
    if mode == "exam" and path.parent.resolve() == BANK_DIR:
        raise QuizError(f"{path.name}: an exam bank must not ship in the package (its key would reach every "
                        "learner); keep it with the assignments")
    questions, seen = [], set()
    for i, raw in enumerate(doc.get("questions", [])):
        q = _question(raw, f"{path.name} question {i + 1}")
        if q.id in seen:
            raise QuizError(f"{path.name}: two questions have the id {q.id!r}")
        seen.add(q.id)
        questions.append(q)
    engine = [q for q in questions if q.type == "engine"]
    if engine:
        _resolve_engine(engine, {r["id"]: r for r in doc["questions"] if r.get("type") == "engine"})
    default_name = path.stem[len("quiz_"):] if path.stem.startswith("quiz_") else path.stem
    return Bank(doc.get("bank", default_name), doc.get("title", default_name), questions, mode, path,
                {r.get("id"): r for r in doc.get("questions", []) if isinstance(r, dict)})


def exam_spec(bank: Bank) -> dict:
    """What an exam notebook holds: the questions and their option ids, no key and no feedback.

    Engine questions keep their policy, action and encryption context (the question needs them);
    which principals the engine allows is not written down, as in every bank.
    """
    questions = []
    for q in bank.questions:
        spec = {"id": q.id, "type": q.type, "topic": q.topic, "prompt": q.prompt, "points": q.points}
        if q.options:
            spec["options"] = [{"id": o.id, "text": o.text} for o in q.options]
        if q.type == "numeric" and q.unit:
            spec["unit"] = q.unit
        if q.type == "engine":
            raw = bank.raw.get(q.id, {})
            spec.update({k: raw[k] for k in ("policy", "action", "encryption_context") if k in raw})
        questions.append(spec)
    return {"bank": bank.name, "title": bank.title, "mode": "exam", "questions": questions}


def bank_from_spec(spec: dict) -> Bank:
    """The questions of an exam notebook (key-free), to show and shuffle them: no answer is right."""
    if not isinstance(spec, dict) or not isinstance(spec.get("questions"), list):
        raise QuizError("an exam's questions are a dict with a list of questions")
    questions = []
    for raw in spec["questions"]:
        questions.append(Question(id=raw["id"], topic=raw.get("topic", ""), type=raw["type"], prompt=raw["prompt"],
                                  points=int(raw.get("points", 1)), unit=raw.get("unit", ""),
                                  options=[Option(o["id"], o["text"]) for o in raw.get("options", [])]))
    return Bank(spec.get("bank", "exam"), spec.get("title", "Exam"), questions, "exam", None,
                {r["id"]: r for r in spec["questions"]})


def _question(raw: dict, where: str) -> Question:
    kind = raw.get("type")
    if kind not in TYPES:
        raise QuizError(f"{where}: type must be one of {', '.join(TYPES)}")
    for key in ("id", "topic", "prompt"):
        if not raw.get(key):
            raise QuizError(f"{where}: {key} is missing")
    q = Question(id=raw["id"], topic=raw["topic"], type=kind, prompt=raw["prompt"], points=int(raw.get("points", 1)),
                 unit=raw.get("unit", ""), feedback_right=raw.get("feedback_right", ""),
                 feedback_wrong=raw.get("feedback_wrong", ""))
    if kind in ("single", "multiple"):
        q.options = [Option(o["id"], o["text"], bool(o.get("correct")), o.get("feedback", "")) for o in raw["options"]]
        ids = [o.id for o in q.options]
        if len(set(ids)) != len(ids):
            raise QuizError(f"{where}: two options have the same id")
        right = sum(o.correct for o in q.options)
        if kind == "single" and right != 1:
            raise QuizError(f"{where}: a single-choice question has exactly one correct option, not {right}")
        if kind == "multiple" and right < 1:
            raise QuizError(f"{where}: a multiple-choice question needs a correct option")
    elif kind == "numeric":
        if not isinstance(raw.get("answer"), (int, float)):
            raise QuizError(f"{where}: a numeric question has a numeric answer")
        q.answer, q.tolerance = raw["answer"], float(raw.get("tolerance", 0))
    elif kind == "text":
        q.accept = list(raw.get("accept") or [])
        if not q.accept:
            raise QuizError(f"{where}: a text question lists the answers it accepts")
    elif not raw.get("principals") or not raw.get("policy") or not raw.get("action"):
        raise QuizError(f"{where}: an engine question has a policy, an action and principals")
    elif len({p.get("id") for p in raw["principals"]}) != len(raw["principals"]):
        raise QuizError(f"{where}: two principals have the same id")
    return q


def _resolve_engine(questions: list[Question], raw: dict[str, dict]) -> None:
    """Decide each engine question's right answers with the permissions engine, on a fresh cloud."""
    from .._cloud import Cloud

    for q in questions:
        spec = raw[q.id]
        cloud = Cloud(seed=7)
        account = cloud.account_id
        iam = cloud.client("iam")
        kms = cloud.client("kms", region_name="us-east-1")

        def sub(value):
            return json.loads(json.dumps(value).replace("ACCOUNT", account))

        # Principals the policy names must exist before the key policy may name them.
        named = set(re.findall(r"arn:aws:iam::ACCOUNT:user/([\w+=,.@-]+)", json.dumps(spec)))
        arns = {}
        for p in spec["principals"]:
            if p.get("arn"):
                arns[p["id"]] = sub(p["arn"])
            else:
                named.add(p["id"])
                arns[p["id"]] = f"arn:aws:iam::{account}:user/{p['id']}"
        for name in sorted(named):
            iam.create_user(UserName=name)
        for p in spec["principals"]:
            if p.get("iam_policy"):
                iam.put_user_policy(UserName=p["id"], PolicyName="quiz", PolicyDocument=json.dumps(sub(p["iam_policy"])))
        key = kms.create_key(Policy=json.dumps(sub(spec["policy"])),
                             BypassPolicyLockoutSafetyCheck=True)["KeyMetadata"]["Arn"]
        options = []
        for p in spec["principals"]:
            decision = cloud.explain(arns[p["id"]], spec["action"], key,
                                     encryption_context=spec.get("encryption_context"))
            why = decision.summary
            options.append(Option(p["id"], p.get("label", p["id"]), decision.allowed,
                                  ("allowed: " if decision.allowed else "denied: ") + why))
        q.options = options
        if not any(o.correct for o in options):
            q.feedback_right = "Nobody here may do it."


# ---------------------------------------------------------------------- answers saved in notebooks


def saved_answers(nb) -> dict | None:
    """The quiz answers a notebook saved (the last quiz output, if several), else None."""
    found = None
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []) or []:
            data = (out.get("data") or {}).get(ANSWERS_MIME)
            if isinstance(data, dict):
                found = data
    return found


def asked(bank: Bank, answers: dict) -> list[Question]:
    """The questions a saved quiz is graded on. An exam: all of its questions. A practice quiz made
    with ``Quiz(..., questions=[...])``: the questions it asked, as saved (the key of a practice
    quiz is with the learner anyway); otherwise the whole bank."""
    if bank.mode == "exam":
        return list(bank.questions)
    ids = answers.get("questions") if isinstance(answers, dict) else None
    known = {q.id: q for q in bank.questions}
    if isinstance(ids, list) and ids and all(isinstance(i, str) and i in known for i in ids) \
            and len(set(ids)) == len(ids):
        wanted = set(ids)
        return [q for q in bank.questions if q.id in wanted]
    return list(bank.questions)


def score(bank: Bank, answers: dict) -> list[tuple[Question, Verdict]]:
    """Every question asked (:func:`asked`) with its verdict (unanswered questions are wrong)."""
    given = answers.get("answers", {}) if isinstance(answers, dict) else {}
    given = given if isinstance(given, dict) else {}
    return [(q, check(q, given.get(q.id))) for q in asked(bank, answers)]


# ---------------------------------------------------------------------- the quiz notebooks


def quiz_notebook(bank: Bank, kind: str):
    """The learner's quiz notebook (``student``) or the answer key (``solution``).

    A practice quiz's notebook names the bank (the widget loads it, key and all, from the package);
    an exam's holds the key-free questions (:func:`exam_spec`) in a locked cell above the quiz.
    """
    import pprint

    import nbformat

    from ._source import KERNELSPEC

    nb = nbformat.v4.new_notebook()
    exam = bank.mode == "exam"
    if exam:
        intro = (f"# Exam: {bank.title}\n\n{len(bank.questions)} questions, {bank.total_points} points. Put your "
                 "name in the cell below and run it: the questions and their options come in an order of your own. "
                 "**Save answer** records an answer; nothing is checked until your instructor grades the exam, so "
                 "there is no feedback here.\n\nYour answers are kept in the cell's output: **save the notebook** "
                 "when you are done, and hand in this file.")
    else:
        intro = (f"# Quiz: {bank.title}\n\n{len(bank.questions)} questions, {bank.total_points} points, covering "
                 "the course notes. Put your name in the cell below and run it: the questions and their options "
                 "come in an order of your own. **Check** gives feedback on each answer at once.\n\nYour answers "
                 "are kept in the cell's output: **save the notebook** when you are done, and hand in this file; "
                 "`kms-teach grade` scores the saved answers.")
    cells = [nbformat.v4.new_markdown_cell(intro)]
    if kind == "student" and exam:
        questions = nbformat.v4.new_code_cell("# The exam's questions (no answers here). Run this cell, then the next.\n"
                                              f"EXAM = {pprint.pformat(exam_spec(bank), width=110, sort_dicts=False)}")
        questions.metadata.update({"editable": False, "deletable": False, "jupyter": {"source_hidden": True}})
        cells.append(questions)
        cells.append(nbformat.v4.new_code_cell(
            'from kms_teach.widgets import Quiz\n\nquiz = Quiz.exam(EXAM, student="YOUR NAME")\nquiz'))
    elif kind == "student":
        code = (f'from kms_teach.widgets import Quiz\n\nquiz = Quiz("{bank.name}", student="YOUR NAME")\nquiz')
        cells.append(nbformat.v4.new_code_cell(code))
    else:
        lines = [f"## Answer key ({bank.name})", ""]
        for n, q in enumerate(bank.questions, start=1):
            lines.append(f"{n}. **{q.prompt}**  ")
            if q.options:
                right = [o.text for o in q.options if o.correct] or ["none of them"]
                lines.append("   " + "; ".join(right))
            elif q.type == "numeric":
                lines.append(f"   {q.answer:g} {q.unit}".rstrip())
            else:
                lines.append(f"   {q.accept[0]}")
            lines.append("")
        cells.append(nbformat.v4.new_markdown_cell("\n".join(lines).rstrip()))
    for i, cell in enumerate(cells):
        cell.id = f"quiz-{bank.name}-{i}"
    nb.cells = cells
    nb.metadata = nbformat.NotebookNode(
        kernelspec=dict(KERNELSPEC),
        language_info={"name": "python"},
        kms_teach={"assignment": f"quiz_{bank.name}", "quiz": bank.name, "mode": bank.mode})
    nbformat.validate(nb)
    return nb
