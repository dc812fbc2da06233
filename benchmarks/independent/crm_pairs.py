"""Same-person CRM contact pairs: which shared evidence the engine merged on (analysis aid)."""
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from evaluate import names_agree, norm_card, norm_email, norm_phone  # noqa: E402

data, answer = sys.argv[1], sys.argv[2]
member = {}


def rows(path: str):
    """The lines of a file, closed when read."""
    with open(path) as f:
        yield from f

flagged = set()
for row in rows(answer):
    a = json.loads(row)
    m = re.match(r"placeholder e-mail (\S+):", str(a.get("unattributed") or ""))
    if m:
        flagged.add(norm_email(m.group(1)))
    if a["source"] == "crm" and "error" not in a:
        member[a["id"]] = a.get("member_id")
truth = {}
for row in rows(f"{data}/truth/lines.jsonl"):
    t = json.loads(row)
    if t["source"] == "crm":
        truth[t["line"]] = t
contacts = {}
for i, line in enumerate(rows(f"{data}/crm.jsonl"), 1):
    try:
        d = json.loads(line)
    except ValueError:
        continue
    t = truth[i]
    contacts[d["contact_id"]] = (d, t)  # last version wins (files are roughly in time order)
by_person = defaultdict(list)
for cid, (_, t) in contacts.items():
    by_person[t["person"]].append(cid)
owners = {}
tab = Counter()
for cids in by_person.values():
    for i, a in enumerate(cids):
        for b in cids[i + 1:]:
            da, db = contacts[a][0], contacts[b][0]
            ea = {norm_email(x) for x in da.get("emails") or []} - {None}
            eb = {norm_email(x) for x in db.get("emails") or []} - {None}
            pa = {norm_phone(x) for x in da.get("phones") or []} - {None}
            pb = {norm_phone(x) for x in db.get("phones") or []} - {None}
            ca, cb = norm_card(da.get("loyalty_id")), norm_card(db.get("loyalty_id"))
            feat = ("email" if ea & eb else "-") + "/" + ("phone" if pa & pb else "-") + "/" + (
                "2cards" if ca and cb and ca != cb else "<2cards") + "/" + (
                "names=" if names_agree({"profile": contacts[a][1]["profile"]}, {"profile": contacts[b][1]["profile"]}) else "names!=")
            ba, bb = da.get("birth_date"), db.get("birth_date")
            birth = "b=" if ba and ba == bb else "b!=" if ba and bb else "b?"
            pa_, pb_ = (da.get("address") or {}).get("postal_code"), (db.get("address") or {}).get("postal_code")
            post = "z=" if pa_ and pb_ and pa_.replace(" ", "").lower() == pb_.replace(" ", "").lower() else "z!=" if pa_ and pb_ else "z?"
            same_sp = "sp=" if set(da.get("emails") or []) & set(db.get("emails") or []) else "sp!="
            if len(sys.argv) > 3:
                feat = f"{feat}/{birth}/{post}/{same_sp}"
            if ea & eb & flagged:
                feat = "FLAGGED " + feat
            together = member.get(a) and member.get(a) == member.get(b)
            tab[(feat, bool(together))] += 1
feats = sorted({f for f, _ in tab})
print(f"{'shared evidence':40} together  apart")
for f in feats:
    print(f"{f:40} {tab[(f, True)]:8} {tab[(f, False)]:6}")
