"""Self-checks of exercise 07 (the audit trail)."""

from __future__ import annotations

from . import Failed, expect, self_check
from ._audit import audit_scenario


@self_check("Task 1")
def t1(who_decrypted) -> None:
    s = audit_scenario(seed=1, days=25)
    got = who_decrypted(s.cloudtrail, s.key_a)
    expect(isinstance(got, set), "return a set of principal ARNs")
    if got > s.decrypted_a:
        raise Failed("your set holds principals who did not decrypt with key A: skip refused calls (events with "
                     "an errorCode) and events about other keys (see each event's resources)")
    if got < s.decrypted_a:
        raise Failed("principals are missing: lookup_events answers a page at a time (use its paginator), and "
                     "the principal is userIdentity.arn in the event's JSON")
    expect(got == s.decrypted_a, "not the set of principals that decrypted with key A")


@self_check("Task 2")
def t2(refused) -> None:
    s = audit_scenario(seed=2, days=25)
    got = refused(s.cloudtrail)
    expect(isinstance(got, list), "return a list of (principal ARN, event name) tuples")
    got = [tuple(x) for x in got]
    if sorted(got) == sorted(s.refused) and got != s.refused:
        raise Failed("the right calls, in the wrong order: oldest first (lookup_events gives newest first)")
    if len(got) > len(s.refused):
        raise Failed("too many: only AccessDeniedException counts (a disabled key's refusal is not about "
                     "permissions)")
    expect(got == s.refused, "not the refused calls")


@self_check("Task 3")
def t3(decrypts_between) -> None:
    s = audit_scenario(seed=3, days=25)
    for (start, end), expected in s.windows.items():
        got = decrypts_between(s.cloudtrail, start, end)
        expect(isinstance(got, dict), "return a dict {principal ARN: count}")
        if sum(got.values()) > sum(expected.values()):
            raise Failed(f"between {start:%b %d} and {end:%b %d} you counted too many: only successful Decrypt "
                         "calls between start and end (lookup_events takes StartTime and EndTime)")
        expect(got == expected, f"between {start:%b %d} and {end:%b %d}: expected {expected}, got {got}")
