"""Print two line keys of a data set, their answers and their members' other lines (analysis aid)."""
import json
import sys
from collections import defaultdict


def rows(path: str):
    """The lines of a file, closed when read."""
    with open(path) as f:
        yield from f


data, answer = sys.argv[1], sys.argv[2]
want = [tuple(x.split("/", 1)) for x in sys.argv[3:]]
ans = defaultdict(list)
by_member = defaultdict(list)
for row in rows(answer):
    a = json.loads(row)
    ans[(a["source"], a["id"])].append(a)
    if a.get("member_id"):
        by_member[a["member_id"]].append((a["source"], a["id"]))
truth = {}
for row in rows(f"{data}/truth/lines.jsonl"):
    t = json.loads(row)
    truth[(t["source"], t["id"])] = t
raw = {}
for s in ("crm", "transactions", "web_analytics", "call_center"):
    for i, line in enumerate(rows(f"{data}/{s}.jsonl"), 1):
        raw[(s, i)] = line.strip()
for k in want:
    t = truth[k]
    print("==", k, "person", t["person"], "tags", t["tags"])
    print("   line:", raw[(k[0], t["line"])][:400])
    for a in ans[k]:
        print("   answer:", a)
        m = a.get("member_id")
        if m:
            others = by_member[m]
            people = defaultdict(int)
            for o in others:
                people[truth[o]["person"]] += 1
            print(f"   member {m}: {len(others)} lines, people {dict(people)}")
            for o in others[:8]:
                if o != k:
                    print("      ", o, truth[o]["person"], raw[(o[0], truth[o]["line"])][:200])
