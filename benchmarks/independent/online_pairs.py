"""Card-less online orders vs the CRM contacts carrying the same e-mail (analysis aid)."""
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from evaluate import norm_email  # noqa: E402


def rows(path: str):
    """The lines of a file, closed when read."""
    with open(path) as f:
        yield from f


data, answer = sys.argv[1], sys.argv[2]
member = {}
for row in rows(answer):
    a = json.loads(row)
    if "error" not in a:
        member[(a["source"], a["id"])] = a.get("member_id")
crm_by_email = defaultdict(set)
crm_line = {}
for line in rows(f"{data}/crm.jsonl"):
    try:
        d = json.loads(line)
    except ValueError:
        continue
    crm_line[d["contact_id"]] = d
    for e in d.get("emails") or []:
        if norm_email(e):
            crm_by_email[norm_email(e)].add(d["contact_id"])
tab = Counter()
seen = set()
for line in rows(f"{data}/transactions.jsonl"):
    try:
        d = json.loads(line)
    except ValueError:
        continue
    e = norm_email(d.get("email"))
    if d.get("channel") != "online" or not e or e not in crm_by_email:
        continue
    m = member.get(("transactions", d["transaction_id"]))
    for cid in crm_by_email[e]:
        if (cid, e) in seen:
            continue
        seen.add((cid, e))
        c = crm_line[cid]
        feat = ("card on order" if d.get("loyalty_id") else "no card on order",
                "contact has card" if c.get("loyalty_id") else "contact has no card",
                f"{len(crm_by_email[e])} contacts carry it", "same member as another contact" if any(member.get(("crm", x)) == member.get(("crm", cid)) for x in crm_by_email[e] if x != cid) else "")
        tab[(feat, m is not None and m == member.get(("crm", cid)), m is None)] += 1
for (feat, tog, un), n in sorted(tab.items()):
    print(feat, "together" if tog else "unattributed" if un else "apart", n)
