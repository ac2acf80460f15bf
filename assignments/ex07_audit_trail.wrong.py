# Wrong answers for ex07_audit_trail: plausible mistakes, each of which must lose its task.
# `kms-teach assign --validate` grades each one (in place of its task's answer) and the project's tests
# do too; a hidden check that lets one through is too weak. Format: docs/grading.md.

# %% [wrong t1 "counts refused calls too"]
def _events(cloudtrail, **kwargs):
    for page in cloudtrail.get_paginator("lookup_events").paginate(**kwargs):
        for event in page["Events"]:
            yield json.loads(event["CloudTrailEvent"])


def who_decrypted(cloudtrail, key_arn):
    return {e["userIdentity"]["arn"] for e in _events(cloudtrail)
            if e["eventName"] == "Decrypt" and any(r.get("ARN") == key_arn for r in e.get("resources") or [])}

# %% [wrong t1 "ignores which key"]
def _events(cloudtrail, **kwargs):
    for page in cloudtrail.get_paginator("lookup_events").paginate(**kwargs):
        for event in page["Events"]:
            yield json.loads(event["CloudTrailEvent"])


def who_decrypted(cloudtrail, key_arn):
    return {e["userIdentity"]["arn"] for e in _events(cloudtrail)
            if e["eventName"] == "Decrypt" and not e.get("errorCode")}

# %% [wrong t1 "reads only the first page"]
def who_decrypted(cloudtrail, key_arn):
    found = set()
    for event in cloudtrail.lookup_events()["Events"]:
        e = json.loads(event["CloudTrailEvent"])
        if e["eventName"] == "Decrypt" and not e.get("errorCode") and \
                any(r.get("ARN") == key_arn for r in e.get("resources") or []):
            found.add(e["userIdentity"]["arn"])
    return found

# %% [wrong t2 "every error, not only AccessDenied"]
def _events(cloudtrail, **kwargs):
    for page in cloudtrail.get_paginator("lookup_events").paginate(**kwargs):
        for event in page["Events"]:
            yield json.loads(event["CloudTrailEvent"])


def refused(cloudtrail):
    out = [(e["eventTime"], e["userIdentity"]["arn"], e["eventName"]) for e in _events(cloudtrail) if e.get("errorCode")]
    return [(a, n) for _, a, n in sorted(out, key=lambda x: x[0])]

# %% [wrong t2 "newest first, as lookup_events gives them"]
def _events(cloudtrail, **kwargs):
    for page in cloudtrail.get_paginator("lookup_events").paginate(**kwargs):
        for event in page["Events"]:
            yield json.loads(event["CloudTrailEvent"])


def refused(cloudtrail):
    return [(e["userIdentity"]["arn"], e["eventName"]) for e in _events(cloudtrail)
            if e.get("errorCode") == "AccessDeniedException"]

# %% [wrong t2 "the first page only"]
def refused(cloudtrail):
    out = []
    for event in cloudtrail.lookup_events()["Events"]:
        e = json.loads(event["CloudTrailEvent"])
        if e.get("errorCode") == "AccessDeniedException":
            out.append((e["eventTime"], e["userIdentity"]["arn"], e["eventName"]))
    return [(a, n) for _, a, n in sorted(out, key=lambda x: x[0])]

# %% [wrong t3 "ignores the time window"]
def _events(cloudtrail, **kwargs):
    for page in cloudtrail.get_paginator("lookup_events").paginate(**kwargs):
        for event in page["Events"]:
            yield json.loads(event["CloudTrailEvent"])


def decrypts_between(cloudtrail, start, end):
    counts = {}
    for e in _events(cloudtrail):
        if e["eventName"] == "Decrypt" and not e.get("errorCode"):
            counts[e["userIdentity"]["arn"]] = counts.get(e["userIdentity"]["arn"], 0) + 1
    return counts

# %% [wrong t3 "counts refused calls"]
def _events(cloudtrail, **kwargs):
    for page in cloudtrail.get_paginator("lookup_events").paginate(**kwargs):
        for event in page["Events"]:
            yield json.loads(event["CloudTrailEvent"])


def decrypts_between(cloudtrail, start, end):
    counts = {}
    for e in _events(cloudtrail, StartTime=start, EndTime=end):
        if e["eventName"] == "Decrypt":
            counts[e["userIdentity"]["arn"]] = counts.get(e["userIdentity"]["arn"], 0) + 1
    return counts

# %% [wrong t3 "counts every call, not only Decrypt"]
def _events(cloudtrail, **kwargs):
    for page in cloudtrail.get_paginator("lookup_events").paginate(**kwargs):
        for event in page["Events"]:
            yield json.loads(event["CloudTrailEvent"])


def decrypts_between(cloudtrail, start, end):
    counts = {}
    for e in _events(cloudtrail, StartTime=start, EndTime=end):
        if not e.get("errorCode") and e["userIdentity"]["arn"].split(":")[-1] != "root":
            counts[e["userIdentity"]["arn"]] = counts.get(e["userIdentity"]["arn"], 0) + 1
    return counts
