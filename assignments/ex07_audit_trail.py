# ---
# assignment: ex07_audit_trail
# title: The audit trail - who decrypted what, who was refused, and when
# ---

# %% [markdown]
# # Exercise 07: reading the audit trail
#
# Goes with notebook [07_storage_audit_review](../notebooks/07_storage_audit_review.ipynb). Every KMS call, allowed or refused, is an event in
# CloudTrail. Use a CloudTrail client (`cloud.client("cloudtrail", region_name=...)`) and its
# `lookup_events`; each event's `CloudTrailEvent` is a JSON string with `userIdentity.arn`,
# `eventName`, `resources` (the KMS key's ARN) and, for refused calls, `errorCode`.
# Remember that `lookup_events` returns its events a page at a time.

# %% [setup]
import json
from datetime import timedelta

import kms_teach
from kms_teach.exercises import ex07 as check

cloud = kms_teach.Cloud(seed=2026)
kms = cloud.client("kms", region_name="us-east-1")
cloudtrail = cloud.client("cloudtrail", region_name="us-east-1")

# %% [markdown]
# ## Task 1 (3 points): who decrypted with this key?
#
# Write `who_decrypted(cloudtrail, key_arn)`, which returns the set of principal ARNs that
# **successfully** called Decrypt with the KMS key `key_arn`. `LookupEvents` answers at most **50 events a
# page**, newest first, with a `NextToken` while more are left ([notebook 07, section
# 2](../notebooks/07_storage_audit_review.ipynb)); the trails here hold well over 50 events.

# %% [answer t1]
def _events(cloudtrail, **kwargs):
    for page in cloudtrail.get_paginator("lookup_events").paginate(**kwargs):
        for event in page["Events"]:
            yield json.loads(event["CloudTrailEvent"])


def who_decrypted(cloudtrail, key_arn):
    ### BEGIN SOLUTION
    found = set()
    for e in _events(cloudtrail, LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "Decrypt"}]):
        if e.get("errorCode"):
            continue
        if any(r.get("ARN") == key_arn for r in e.get("resources") or []):
            found.add(e["userIdentity"]["arn"])
    return found
    ### END SOLUTION

# %% [check t1 points=3 "Who decrypted with a key"]
check.t1(who_decrypted)
### BEGIN HIDDEN TESTS
from kms_teach.exercises import audit_scenario, grading_rng
scenario = audit_scenario(seed=grading_rng().randrange(10**9))  # new people, new history
for key, expected in ((scenario.key_a, scenario.decrypted_a), (scenario.key_b, scenario.decrypted_b)):
    got = who_decrypted(scenario.cloudtrail, key)
    assert isinstance(got, set), "return a set of principal ARNs"
    assert not got - expected, ("principals who did not decrypt with this key are in the set: skip refused calls "
                                "(errorCode) and look at each event's resources for the key")
    assert not expected - got, ("principals who decrypted with this key are missing: read every page of "
                                "LookupEvents (NextToken), and take userIdentity.arn from the event's JSON")
### END HIDDEN TESTS

# %% [markdown]
# ## Task 2 (3 points): who was refused?
#
# Write `refused(cloudtrail)`, which returns `(principal ARN, event name)` for every KMS call that
# was refused for lack of permission (`AccessDeniedException`), oldest first.

# %% [answer t2]
def refused(cloudtrail):
    ### BEGIN SOLUTION
    out = [(e["eventTime"], e["userIdentity"]["arn"], e["eventName"]) for e in _events(cloudtrail)
           if e.get("eventSource") == "kms.amazonaws.com" and e.get("errorCode") == "AccessDeniedException"]
    return [(arn, name) for _, arn, name in sorted(out, key=lambda x: x[0])]
    ### END SOLUTION

# %% [check t2 points=3 "The calls refused for lack of permission"]
check.t2(refused)
### BEGIN HIDDEN TESTS
from kms_teach.exercises import audit_scenario, grading_rng
scenario = audit_scenario(seed=grading_rng().randrange(10**9))  # new people, new history
got = [tuple(x) for x in refused(scenario.cloudtrail)]
assert sorted(got) == sorted(scenario.refused), ("not the refused calls: only errorCode AccessDeniedException counts "
                                                 "(a disabled key's refusal is another error), on every page")
assert got == scenario.refused, "the right calls in the wrong order: oldest first (LookupEvents gives newest first)"
### END HIDDEN TESTS

# %% [markdown]
# ## Task 3 (4 points): decryptions per principal in a time window
#
# Write `decrypts_between(cloudtrail, start, end)`, which returns `{principal ARN: number of
# successful Decrypt calls}` for the calls made between the datetimes `start` and `end`.

# %% [answer t3]
def decrypts_between(cloudtrail, start, end):
    ### BEGIN SOLUTION
    counts = {}
    for e in _events(cloudtrail, StartTime=start, EndTime=end,
                     LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "Decrypt"}]):
        if not e.get("errorCode"):
            arn = e["userIdentity"]["arn"]
            counts[arn] = counts.get(arn, 0) + 1
    return counts
    ### END SOLUTION

# %% [check t3 points=4 "Decryptions per principal in a time window"]
check.t3(decrypts_between)
### BEGIN HIDDEN TESTS
from kms_teach.exercises import audit_scenario, grading_rng
scenario = audit_scenario(seed=grading_rng().randrange(10**9))  # new people, new history
for (start, end), expected in scenario.windows.items():
    got = decrypts_between(scenario.cloudtrail, start, end)
    assert got == expected, (f"between {start:%Y-%m-%d} and {end:%Y-%m-%d} the counts differ: LookupEvents takes "
                             "StartTime and EndTime; count successful Decrypt calls only, on every page")
### END HIDDEN TESTS
