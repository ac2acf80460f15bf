"""The course at a glance: one table that the syllabus and every notebook's "Next" cell are written from.

Links are relative to ``notebooks/`` and work the same in the repository (on GitHub), in JupyterLab and in
the learner's copy that ``kms-teach course`` makes (it copies ``notebooks/`` and ``exercises/`` side by side).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["COURSE", "Lesson", "lesson", "next_cell_text", "QUIZ"]

QUIZ = "../exercises/quiz_kms-exam.ipynb"


@dataclass(frozen=True)
class Lesson:
    number: str  # "00"
    filename: str  # "00_start_here.ipynb"
    title: str
    goal: str  # what the learner can do afterwards, in one sentence
    minutes: int  # reading and running the notebook
    exercise: str | None  # the exercise notebook, relative to notebooks/ (None: not written yet)
    exercise_title: str = ""
    exercise_minutes: int = 0
    practice: str = ""  # what to practise when there is no exercise yet


COURSE: tuple[Lesson, ...] = (
    Lesson("00", "00_start_here.ipynb", "Start here: your first KMS key",
           "Create a KMS key, name it with an alias, encrypt and decrypt, list keys a page at a time, and say why "
           "KMS is a Regional, public service.", 35,
           "../exercises/ex00_first_steps.ipynb", "a named key, a round trip, Regions that do not share keys", 30),
    Lesson("01", "01_encrypt_decrypt.ipynb", "Encrypt and decrypt: what happens inside KMS",
           "Follow an Encrypt and a Decrypt call step by step, keep encrypt and decrypt permissions apart, bind "
           "data to its place with an encryption context, and run the notes' aws CLI commands.", 45,
           "../exercises/ex01_encrypt_decrypt.ipynb", "tenants bound by an encryption context", 35),
    Lesson("02", "02_data_keys.ipynb", "Data keys: encrypting more than 4 KB",
           "Envelope-encrypt a file of any size with a data key, keep only the encrypted data key, and explain "
           "why KMS never stores data keys.", 40,
           "../exercises/ex02_data_keys.ipynb", "envelope encryption of a file larger than 4 KB", 35),
    Lesson("03", "03_key_policies.ipynb", "Key policies and role separation",
           "Read and write key policies: the account trust, administrators and users, an explicit Deny, "
           "NotPrincipal, grants; find the statement that decided with cloud.explain.", 55,
           "../exercises/ex03_key_policies.ipynb", "separated roles, a lockout fixed, a high-security key", 45),
    Lesson("04", "04_rotation_aliases_deletion.ipynb", "Rotation, aliases, key states and deletion",
           "Rotate a key and re-encrypt old data, repoint aliases, move a key through its states, and schedule "
           "and cancel its deletion.", 45,
           "../exercises/ex04_rotation.ipynb", "rotation and the backing key each ciphertext needs", 30),
    Lesson("05", "05_key_ownership.ipynb", "Who owns a key: customer managed, AWS managed and AWS owned keys",
           "Tell the three kinds of key apart, watch an AWS service create an AWS managed key, read its key "
           "policy, and know what you can and cannot do with it.", 30,
           "../exercises/ex05_key_ownership.ipynb", "the keys you manage, an AWS managed key at work, and its key "
           "policy", 30),
    Lesson("06", "06_key_types.ipynb", "Asymmetric, HMAC and multi-Region keys, and imported key material",
           "Sign in KMS and verify outside it, make and check HMACs, use one multi-Region key in several Regions, "
           "and bring your own key material and survive its expiry.", 55,
           "../exercises/ex06_key_types.ipynb", "sign and verify, HMAC tags, imported material", 40),
    Lesson("07", "07_storage_audit_review.ipynb", "Everything encrypted at rest, the audit trail, FIPS, and a review",
           "Check that nothing is stored in plaintext, answer \"who decrypted what?\" from the audit trail, say "
           "what FIPS 140 validation means for KMS, and review the course.", 40,
           "../exercises/ex07_audit_trail.ipynb", "who decrypted what, who was refused, and when", 35),
)


def lesson(number: str) -> Lesson:
    for item in COURSE:
        if item.number == number:
            return item
    raise KeyError(number)


def exercise_name(item: Lesson) -> str:
    return item.exercise.rsplit("/", 1)[-1] if item.exercise else ""


def next_cell_text(number: str, *, extra: str = "") -> str:
    """The "## Next" cell of a notebook: its exercise (a link), then the next notebook (a link)."""
    index = [c.number for c in COURSE].index(number)
    this = COURSE[index]
    parts = ["## Next", ""]
    if this.exercise:
        parts.append(f"**Practise:** this notebook's exercise, [{exercise_name(this)}]({this.exercise}) "
                     f"({this.exercise_title}; about {this.exercise_minutes} minutes). Each task has a self-check; "
                     "hidden checks run when it is graded.")
    else:
        parts.append(f"**Practise:** the self-check above, then {this.practice} in "
                     f"[quiz_kms-exam.ipynb]({QUIZ}).")
    parts.append("")
    if index + 1 < len(COURSE):
        following = COURSE[index + 1]
        parts.append(f"**Then go on:** [{following.number} · {following.title}]({following.filename}) "
                     f"(about {following.minutes} minutes).")
    else:
        parts.append(f"**You have finished the course notebooks.** Try the exam-style quiz, "
                     f"[quiz_kms-exam.ipynb]({QUIZ}), with feedback on every answer.")
    if extra:
        parts += ["", extra]
    parts += ["", "[The syllabus](syllabus.ipynb) lists every notebook with its goal, time and exercise."]
    return "\n".join(parts)
