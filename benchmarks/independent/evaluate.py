"""Measure ``membergraph resolve``'s answer against the independent generator's truth.

Usage::

    PYTHONPATH=<tree> python evaluate.py --data DIR --run --out-json J --out-md M
    python evaluate.py --data DIR --answer ANSWER.jsonl --out-json J --out-md M

``--run`` resolves ``DIR`` itself with the ``membergraph`` importable from ``PYTHONPATH``,
on a fresh SQLite store in a temporary folder, and keeps the answer beside the report
(``<out-json stem>.answer.jsonl``). Definitions of every figure: REPORT.md, "Definitions".
The identifier normalisation below is this evaluator's own judgement of what a careful
steward would call one value; it is not the engine's.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

SOURCES = ("crm", "transactions", "web_analytics", "call_center")
NICK = {
    "bob": "robert", "rob": "robert", "bobby": "robert", "bill": "william", "will": "william",
    "billy": "william", "jim": "james", "jimmy": "james", "jamie": "james", "jack": "john",
    "johnny": "john", "mike": "michael", "mikey": "michael", "rick": "richard", "dick": "richard",
    "rich": "richard", "joe": "joseph", "joey": "joseph", "tom": "thomas", "tommy": "thomas",
    "chris": "christopher", "dan": "daniel", "danny": "daniel", "matt": "matthew",
    "tony": "anthony", "steve": "steven", "andy": "andrew", "drew": "andrew", "josh": "joshua",
    "ken": "kenneth", "kenny": "kenneth", "ed": "edward", "eddie": "edward", "ted": "edward",
    "tim": "timothy", "ben": "benjamin", "sam": "samuel", "greg": "gregory", "pat": "patrick",
    "alex": "alexander", "xander": "alexander", "nick": "nicholas", "jon": "jonathan",
    "zach": "zachary", "liz": "elizabeth", "beth": "elizabeth", "betty": "elizabeth",
    "eliza": "elizabeth", "patty": "patricia", "trish": "patricia", "jen": "jennifer",
    "jenny": "jennifer", "maggie": "margaret", "peggy": "margaret", "meg": "margaret",
    "kate": "katherine", "kathy": "katherine", "katie": "katherine", "debbie": "deborah",
    "deb": "deborah", "becky": "rebecca", "steph": "stephanie", "vicky": "victoria",
    "tori": "victoria", "chrissy": "christine", "abby": "abigail", "kim": "kimberly",
    "barb": "barbara", "sue": "susan", "susie": "susan", "jess": "jessica", "sandy": "sandra",
    "shelly": "michelle", "paco": "francisco", "pancho": "francisco", "pepe": "jose",
    "lupe": "guadalupe", "chuy": "jesus", "jf": "jean-francois",
}


# ----------------------------------------------------------------- normalisation (ours)


def _plain(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def norm_email(v: object) -> str | None:
    if not isinstance(v, str):
        return None
    v = v.replace("\u200b", "").replace("\u00a0", "").strip().lower()
    if v.startswith("mailto:"):
        v = v[7:]
    local, at, dom = v.partition("@")
    if not at or not local or "." not in dom:
        return None
    local = local.split("+")[0]
    if dom in ("gmail.com", "googlemail.com"):
        local = local.replace(".", "")
    return f"email:{local}@{dom}"


def norm_phone(v: object) -> str | None:
    if not isinstance(v, str):
        return None
    v = v.lower()
    for cut in (" x", " ext", " (cell", " cell", " home"):
        if cut in v:
            v = v[: v.index(cut)]
    d = re.sub(r"\D", "", v)
    if not d:
        return None
    if d.startswith("044") and len(d) == 13:
        return "phone:+52" + d[3:]
    if d.startswith("01152"):
        return "phone:+52" + d[5:]
    if v.strip().startswith("+52") or (len(d) == 12 and d.startswith("52")):
        return "phone:+" + d
    if len(d) == 11 and d[0] == "1":
        return "phone:+" + d
    if len(d) == 10:
        return "phone:+1" + d
    return "phone:?" + d


def norm_card(v: object) -> str | None:
    if not isinstance(v, str) or not v.strip():
        return None
    return "card:" + re.sub(r"[\s-]", "", v).upper()


def norm_crm(v: object) -> str | None:
    if not isinstance(v, str) or not v.strip():
        return None
    u = v.strip().upper().replace("-", "")
    if u.startswith("BSM") and u[3:].isdigit():
        return "crm:BSM-" + u[3:]
    digits = u[1:] if u.startswith("C") else u
    if digits.isdigit():
        return "crm:C" + digits.zfill(7)
    return "crm:?" + u


def norm_anon(v: object) -> str | None:
    return "anon:" + v.strip() if isinstance(v, str) and v.strip() else None


NORM = {"email": norm_email, "phone": norm_phone, "card": norm_card, "crm": norm_crm, "anon": norm_anon}


def carried(source: str, line: dict) -> list[str]:
    """Every identifier value a line carries, normalised (ours), whoever owns it."""
    out: list[str | None] = []
    if source == "crm":
        out += [norm_email(e) for e in line.get("emails") or [] if isinstance(e, str)]
        out += [norm_phone(p) for p in line.get("phones") or [] if isinstance(p, str)]
        out.append(norm_card(line.get("loyalty_id")))
        out += [norm_card(c) for c in line.get("previous_loyalty_ids") or []]
        out.append(norm_crm(line.get("contact_id")))
    elif source == "transactions":
        out += [norm_card(line.get("loyalty_id")), norm_email(line.get("email"))]
    elif source == "web_analytics":
        uid = line.get("user_id")
        out += [norm_anon(line.get("anonymous_id")), norm_email(line.get("email"))]
        if isinstance(uid, str) and "@" in uid:
            out.append(norm_email(uid))
        elif isinstance(uid, str) and uid.strip():
            out.append(norm_crm(uid))
    else:
        out.append(norm_phone(line.get("caller_phone")))
        ref = line.get("account_ref") or {}
        if isinstance(ref, dict):
            kind = {"crm_id": "crm", "loyalty_id": "card", "email": "email"}.get(ref.get("kind"))
            if kind:
                out.append(NORM[kind](ref.get("value")))
    return [x for x in out if x]


def norm_link(token: str) -> str | None:
    kind, _, value = token.partition(":")
    return NORM[kind](value)


# ----------------------------------------------------------------- loading


KEEP = {"emails", "phones", "loyalty_id", "previous_loyalty_ids", "contact_id", "birth_date",
        "first_name", "last_name", "email", "channel", "anonymous_id", "user_id", "name",
        "caller_phone", "account_ref"}


def slim(text: str) -> dict:
    """The identity fields of one source line ({} when it is not a JSON object)."""
    try:
        line = json.loads(text)
    except ValueError:
        return {}
    return {k: v for k, v in line.items() if k in KEEP} if isinstance(line, dict) else {}


def load(data: Path, answer: Path) -> tuple[dict, dict, dict]:
    """Unique line keys with truth, engine answer and the identifiers they carry."""
    truth_rows: dict[str, list[dict]] = defaultdict(list)
    with (data / "truth" / "lines.jsonl").open() as f:
        for row in f:
            t = json.loads(row)
            truth_rows[t["source"]].append(t)
    raw: dict[str, list[dict]] = {}
    for s in SOURCES:
        with (data / f"{s}.jsonl").open() as f:
            raw[s] = [slim(text) for text in f]
    ans_rows: dict[str, list[dict]] = defaultdict(list)
    with answer.open() as f:
        for row in f:
            a = json.loads(row)
            ans_rows[a.get("source")].append(a)
    owners: dict[str, set[str]] = defaultdict(set)
    with (data / "truth" / "tokens.jsonl").open() as f:
        for row in f:
            t = json.loads(row)
            key = NORM[t["kind"]](t["value"])
            if key:
                owners[key].update(t["owners"])
    keys: dict[tuple[str, str], dict] = {}
    misaligned = 0
    for s in SOURCES:
        trs = sorted(truth_rows[s], key=lambda t: t["line"])
        ans = ans_rows.get(s, [])
        aligned = len(ans) == len(trs) and all(
            a.get("id") in (None, t["id"]) for a, t in zip(ans, trs, strict=True))
        if not aligned:
            misaligned += 1
            by_id: dict[str, list[dict]] = defaultdict(list)
            for a in ans:
                by_id[a.get("id")].append(a)
            ans = [by_id[t["id"]].pop(0) if by_id.get(t["id"]) else {"error": "missing in answer"}
                   for t in trs]
        for t, a in zip(trs, ans, strict=True):
            line = raw[s][t["line"] - 1]
            k = (s, t["id"])
            rec = keys.get(k)
            if rec is None:
                rec = keys[k] = {"source": s, "id": t["id"], "person": t["person"], "tags": set(),
                                 "links": set(), "carries": set(), "lines": 0, "errors": 0,
                                 "member": None, "unattributed": None, "members": set(),
                                 "profile": t.get("profile"), "line": line,
                                 "household": t.get("household")}
            rec["lines"] += 1
            rec["tags"].update(x.split(":")[0] if not x.startswith(("actor", "email_of", "on_behalf",
                                                                    "agent_")) else x
                               for x in t["tags"])
            rec["links"].update(x for x in (norm_link(y) for y in t["links"]) if x)
            if "error" in a:
                rec["errors"] += 1
                continue
            rec["line"] = line
            rec["carries"].update(carried(s, line))
            if a.get("member_id"):
                rec["members"].add(a["member_id"])
                rec["member"] = a["member_id"]
            elif a.get("unattributed"):
                rec["unattributed"] = a["unattributed"]
            elif a.get("suppressed"):
                rec["unattributed"] = "suppressed"
    return keys, owners, {"misaligned_sources": misaligned}


# ----------------------------------------------------------------- helpers


def pairs(n: int) -> int:
    return n * (n - 1) // 2


class DSU:
    def __init__(self) -> None:
        self.p: dict = {}
        self.size: dict = {}

    def find(self, x):
        self.p.setdefault(x, x)
        self.size.setdefault(x, 1)
        while self.p[x] != x:
            self.p[x] = self.p[self.p[x]]
            x = self.p[x]
        return x

    def union(self, a, b) -> int:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return 0
        joined = self.size[ra] * self.size[rb]
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.p[rb] = ra
        self.size[ra] += self.size[rb]
        return joined


def name_key(v: object) -> str:
    return re.sub(r"[^a-z ]", "", _plain(v).lower()) if isinstance(v, str) else ""


def fuzzy_same(a: dict, b: dict) -> bool:
    """Two CRM contacts a careful steward would pair on the profile alone (our judgement):
    a shared surname word and a first name (or nickname) or a real birth date in common."""
    fa, la = name_key(a.get("first")), name_key(a.get("last"))
    fb, lb = name_key(b.get("first")), name_key(b.get("last"))
    for f2, l2 in ((fb, lb), (lb, fb)):
        if not (set(la.split()) & set(l2.split())):
            continue
        fa1 = NICK.get(fa.split()[0], fa.split()[0]) if fa else ""
        fb1 = NICK.get(f2.split()[0], f2.split()[0]) if f2 else ""
        if fa1 and fa1 == fb1:
            return True
        ba, bb = a.get("birth"), b.get("birth")
        if ba and ba == bb and not ba.startswith(("1900", "1901", "1970-01-01", "1911")):
            return True
    return False


# ----------------------------------------------------------------- evaluation


def profile_records(keys: dict, owners: dict) -> list[dict]:
    """CRM contacts, loyalty cards (by the card their sales carry) and online customers (the
    e-mail of card-less online orders), each with its true holder and its member."""
    out = []
    for k, r in keys.items():
        if r["source"] == "crm" and r["errors"] < r["lines"]:
            out.append({"kind": "crm", "key": k[1], "person": r["person"],
                        "member": r["member"], "keys": [k]})
    cards: dict[str, list] = defaultdict(list)
    online: dict[str, list] = defaultdict(list)
    for k, r in keys.items():
        if r["source"] != "transactions" or r["errors"] == r["lines"]:
            continue
        line = r["line"]
        card = norm_card(line.get("loyalty_id"))
        if card:
            cards[card].append(k)
        elif line.get("channel") == "online":
            e = norm_email(line.get("email"))
            if e:
                online[e].append(k)
    for kind, groups in (("card", cards), ("online", online)):
        for token, ks in groups.items():
            own = {o for o in owners.get(token, ()) if o.startswith(("P", "BOT"))}
            if len(own) != 1:
                continue  # a placeholder, a store's e-mail, a typo: no one's account
            members = Counter(keys[k]["member"] for k in ks)
            member = members.most_common(1)[0][0]
            out.append({"kind": kind, "key": token, "person": own.pop(), "member": member,
                        "keys": ks})
    return out


def precision(groups: dict[str, list[str]]) -> tuple[int, int]:
    """(pairs in one member, of them pairs of one person)."""
    total = same = 0
    for persons in groups.values():
        total += pairs(len(persons))
        same += sum(pairs(c) for c in Counter(persons).values())
    return total, same


PEOPLE: dict[str, dict] = {}
FLAGGED: set[str] = set()
"""E-mails the engine's answer names as placeholders ("placeholder e-mail X: ...")."""


def evaluate(data: Path, answer: Path) -> dict:
    keys, owners, meta = load(data, answer)
    with (data / "truth" / "people.jsonl").open() as f:
        for row in f:
            p = json.loads(row)
            PEOPLE[p["person"]] = p
    lines_total = sum(r["lines"] for r in keys.values())
    errors = sum(r["errors"] for r in keys.values())
    valid = {k: r for k, r in keys.items() if r["errors"] < r["lines"]}
    for r in valid.values():
        m = re.match(r"placeholder e-mail (\S+?):", str(r["unattributed"] or ""))
        if m and norm_email(m.group(1)):
            FLAGGED.add(norm_email(m.group(1)))
    split_keys = sum(1 for r in valid.values() if len(r["members"]) > 1)
    by_member: dict[str, list[tuple]] = defaultdict(list)
    for k, r in valid.items():
        if r["member"]:
            by_member[r["member"]].append(k)
    unattributed = Counter(r["unattributed"] for r in valid.values() if not r["member"])
    unattributed_by_truth = Counter()
    for r in valid.values():
        if not r["member"]:
            kind = "had an identifier of its own person" if r["links"] else "carried no identifier of its own person"
            unattributed_by_truth[kind] += 1
    # Precision over lines.
    line_groups = {m: [valid[k]["person"] for k in ks] for m, ks in by_member.items()}
    lt, ls = precision(line_groups)

    def shared_visitor(k: tuple) -> bool:
        anon = norm_anon(valid[k]["line"].get("anonymous_id")) if k[0] == "web_analytics" else None
        return bool(anon) and not any(o.startswith("P") for o in owners.get(anon, ()))

    lt2, ls2 = precision({m: [valid[k]["person"] for k in ks if not shared_visitor(k)]
                          for m, ks in by_member.items()})
    # Profile records.
    profs = profile_records(valid, owners)
    prof_groups: dict[str, list[str]] = defaultdict(list)
    for p in profs:
        if p["member"]:
            prof_groups[p["member"]].append(p["person"])
    pt, ps = precision(prof_groups)
    # Per-member facts.
    people_in = {m: set(ps_) for m, ps_ in line_groups.items()}
    largest = max(people_in.items(), key=lambda x: (len(x[1]), len(line_groups[x[0]])), default=(None, set()))
    crm_people: dict[str, set] = defaultdict(set)
    for p in profs:
        if p["kind"] == "crm" and p["member"]:
            crm_people[p["member"]].add(p["person"])
    crm_mix = [m for m, s in crm_people.items() if len(s) > 1]
    over4 = [m for m, s in people_in.items() if len(s) > 4]
    # Recall: linkable components per person.
    token_people: dict[str, set] = defaultdict(set)
    for r in valid.values():
        for t in r["links"]:
            token_people[t].add(r["person"])
    ambiguous = {t for t, s in token_people.items() if len(s) > 1}
    exact = DSU()
    by_token: dict[str, list] = defaultdict(list)
    for k, r in valid.items():
        exact.find(k)
        for t in r["links"] - ambiguous:
            by_token[t].append(k)
    for ks in by_token.values():
        for k in ks[1:]:
            exact.union(ks[0], k)
    fuzzy = DSU()
    for k in valid:
        fuzzy.union(k, exact.find(k))
    crm_by_person: dict[str, list] = defaultdict(list)
    for k, r in valid.items():
        if r["source"] == "crm" and r["profile"]:
            crm_by_person[r["person"]].append(k)
    fuzzy_edges = []
    for ks in crm_by_person.values():
        for i, a in enumerate(ks):
            for b in ks[i + 1:]:
                if exact.find(a) != exact.find(b) and fuzzy_same(valid[a]["profile"], valid[b]["profile"]):
                    fuzzy_edges.append((a, b))
                    fuzzy.union(a, b)
    recall = {}
    for tier, dsu in (("exact", exact), ("exact_or_profile", fuzzy)):
        comps: dict = defaultdict(list)
        for k in valid:
            comps[dsu.find(k)].append(k)
        ach = tog = 0
        for ks in comps.values():
            ach += pairs(len(ks))
            tog += sum(pairs(c) for m, c in Counter(valid[k]["member"] for k in ks).items() if m)
        # Profile records of one person in one linkable component.
        pc: dict = defaultdict(list)
        for p in profs:
            pc[dsu.find(p["keys"][0])].append(p["member"])
        pach = sum(pairs(len(v)) for v in pc.values())
        ptog = sum(pairs(c) for v in pc.values() for m, c in Counter(v).items() if m)
        recall[tier] = {"line_pairs_achievable": ach, "line_pairs_together": tog,
                        "line_recall": tog / ach if ach else None,
                        "profile_pairs_achievable": pach, "profile_pairs_together": ptog,
                        "profile_recall": ptog / pach if pach else None}
    # All pairs of one person (not only the achievable ones), for scale.
    person_lines = Counter(r["person"] for r in valid.values())
    all_same = sum(pairs(c) for c in person_lines.values())
    result = {
        "data": str(data), "answer": str(answer), **meta,
        "people": len({r["person"] for r in keys.values() if r["person"].startswith("P")}),
        "lines": lines_total, "unique_line_keys": len(keys), "error_lines": errors,
        "members": len(by_member), "keys_in_several_members": split_keys,
        "unattributed_keys": sum(unattributed.values()),
        "unattributed_by_reason": dict(unattributed.most_common()),
        "unattributed_by_truth": dict(unattributed_by_truth),
        "profile_records": len(profs), "profile_pairs": pt, "profile_pairs_same_person": ps,
        "profile_precision": ps / pt if pt else None,
        "line_pairs": lt, "line_pairs_same_person": ls, "line_precision": ls / lt if lt else None,
        "line_precision_without_shared_visitors": ls2 / lt2 if lt2 else None,
        "line_pairs_without_shared_visitors": lt2,
        "recall": recall, "all_same_person_line_pairs": all_same,
        "ambiguous_link_tokens": len(ambiguous), "profile_only_crm_pairs": len(fuzzy_edges),
        "largest_member": {"id": largest[0], "people": len(largest[1]),
                           "lines": len(line_groups.get(largest[0], []))},
        "crm_mix_members": len(crm_mix), "members_over_4_people": len(over4),
        "members_with_2plus_people": sum(1 for s in people_in.values() if len(s) > 1),
    }
    result["phenomena"] = phenomena(valid, profs, line_groups)
    result["causes"] = causes(valid, owners, by_member, profs, exact, fuzzy_edges)
    result["personal_emails_called_placeholders"] = flagged_breakdown(valid, owners)
    return result


# ----------------------------------------------------------------- phenomena


def phenomena(valid: dict, profs: list, line_groups: dict) -> dict:
    """What became of the lines each phenomenon touched: unattributed, in their person's home
    member (the member holding most of her profile records, else most of her lines), in a
    member led by another person, or in another member of her own."""
    home: dict[str, str] = {}
    votes: dict[str, Counter] = defaultdict(Counter)
    for p in profs:
        if p["member"]:
            votes[p["person"]][p["member"]] += 1
    for r in valid.values():
        if r["member"] and r["person"] not in votes:
            votes.setdefault("~" + r["person"], Counter())[r["member"]] += 1
    for key, c in votes.items():
        home[key.lstrip("~")] = home.get(key.lstrip("~")) or c.most_common(1)[0][0]
    leader = {m: Counter(ps).most_common(1)[0][0] for m, ps in line_groups.items()}
    out: dict[str, Counter] = defaultdict(Counter)
    for r in valid.values():
        tags = {t.split(":")[0] for t in r["tags"]} | {f"source:{r['source']}"}
        if not r["member"]:
            fate = "unattributed"
        elif r["member"] == home.get(r["person"]):
            fate = "home"
        elif leader[r["member"]] != r["person"]:
            fate = "with another person"
        else:
            fate = "another member of hers"
        for t in tags:
            out[t][fate] += 1
            out[t]["lines"] += 1
    return {t: dict(c) for t, c in sorted(out.items())}


# ----------------------------------------------------------------- causes


def flagged_breakdown(valid: dict, owners: dict) -> dict:
    """E-mails the engine called placeholders that belong to one person, by what in the data
    makes them look shared, with the lines left unattributed for it."""
    mpp_people = {r["person"] for r in valid.values() if "mpp_open" in r["tags"]}
    crm_people: dict[str, set] = defaultdict(set)
    crm_count: Counter = Counter()
    for r in valid.values():
        if r["source"] == "crm":
            for t in r["carries"]:
                if t.startswith("email:"):
                    crm_people[t].add(r["person"])
                    crm_count[t] += 1
    web_anons: dict[str, set] = defaultdict(set)
    for r in valid.values():
        if r["source"] == "web_analytics":
            for t in r["carries"]:
                if t.startswith("email:"):
                    web_anons[t].add(r["line"].get("anonymous_id"))
    why: dict[str, str] = {}
    for e in FLAGGED:
        own = owners.get(e, set())
        persons = {o for o in own if o.startswith("P")}
        if len(persons) != 1 or len(own) != 1:
            why[e] = "not one person's (a real placeholder, a store's or a family's)"
        elif len(crm_people[e]) > 1:
            why[e] = "typed on other people's CRM contacts (staff's or parent's e-mail)"
        elif persons & mpp_people:
            why[e] = "opens seen through Apple-MPP proxy visitors"
        elif crm_count[e] > 1:
            why[e] = "on two CRM contacts of its owner that the engine left apart"
        elif len(web_anons[e]) > 1:
            why[e] = "on several web visitors of its owner (cookie resets, e-mail opens)"
        else:
            why[e] = "other"
    out: dict[str, Counter] = defaultdict(Counter)
    for w in why.values():
        out[w]["emails"] += 1
    for r in valid.values():
        m = re.match(r"placeholder e-mail (\S+?):", str(r["unattributed"] or ""))
        if m and norm_email(m.group(1)) in why:
            out[why[norm_email(m.group(1))]]["lines"] += 1
    return {k: dict(v) for k, v in out.items()}


def token_cause(token: str, owners: set, carrier: dict, other: str) -> str:
    """Why one identifier value joins two people (our reading of the truth)."""
    kind = token.split(":")[0]
    tags = carrier["tags"]
    o = {x.split(":")[0] for x in owners}
    if "placeholder" in o:
        return f"placeholder {kind} typed at a till / web form"
    if "store" in o:
        return f"store's own {kind} typed for customers"
    if "kiosk" in o:
        return "in-store kiosk browser"
    if "household" in o:
        return {"phone": "household landline", "email": "family e-mail",
                "anon": "family computer"}.get(kind, "household identifier")
    if "proxy" in o:
        return "Apple Mail privacy proxy (e-mail opens)"
    if "public-computer" in o:
        return "public computer"
    if "switchboard" in o:
        return "work switchboard phone"
    persons = {x for x in owners if x.startswith("P")}
    if kind == "phone" and len(persons) > 1:
        return "recycled phone number"
    if kind == "email" and len(persons) > 1:
        return "two people given one Gmail mailbox (generator v1 defect)"
    if not owners:
        return f"{kind} value owned by no one (a typo)"
    for tag, cause in (("staff_email_for_guest", "staff e-mail typed for a guest"),
                       ("staff_card_on_guest_order", "staff card on a guest's online order"),
                       ("forwarded_click", "forwarded marketing e-mail clicked"),
                       ("household_members_phone", "called from a household member's phone"),
                       ("household_card", "household member's card"),
                       ("parent_email_on_child", "parent's e-mail on a young adult's contact"),
                       ("relative_phone_on_contact", "relative's mobile on an elderly person's contact")):
        if tag in tags:
            return cause
    if any(t.startswith(("agent_wrong_account", "agent_stale_screen")) for t in tags):
        return "call agent typed another customer's account"
    if any(t.startswith("on_behalf_by") for t in tags):
        return "relative calls on behalf (relative's phone)"
    return f"{kind} of one person on another's line (other)"


def causes(valid: dict, owners: dict, by_member: dict, profs: list, exact: DSU,
           fuzzy_edges: list) -> dict:
    prof_person = defaultdict(list)
    for p in profs:
        if p["member"]:
            prof_person[p["member"]].append(p["person"])
    merge_lines: Counter = Counter()
    merge_profiles: Counter = Counter()
    merge_members: Counter = Counter()
    merge_examples: dict[str, list] = defaultdict(list)
    merge_crm_mix: Counter = Counter()
    crm_mix_of: dict[str, set] = {}
    for p in profs:
        if p["kind"] == "crm" and p["member"]:
            crm_mix_of.setdefault(p["member"], set()).add(p["person"])
    crm_mix_of = {m: s for m, s in crm_mix_of.items() if len(s) > 1}
    for m, ks in by_member.items():
        persons = {valid[k]["person"] for k in ks}
        if len(persons) < 2:
            continue
        carriers: dict[str, list] = defaultdict(list)
        for k in ks:
            for t in valid[k]["carries"]:
                carriers[t].append(k)
        edges: list[tuple[str, str, str]] = []
        for t, cks in carriers.items():
            ps = {valid[k]["person"] for k in cks}
            own = owners.get(t, set())
            if len(ps) > 1:
                # Which line is the odd one out: the one whose person does not own t.
                for k in cks:
                    p = valid[k]["person"]
                    if p not in own:
                        cause = token_cause(t, own, valid[k], p)
                        for q in ps - {p}:
                            edges.append((p, q, cause))
                if all(valid[k]["person"] in own for k in cks):
                    cause = token_cause(t, own, valid[cks[0]], "")
                    pl = sorted(ps)
                    for q in pl[1:]:
                        edges.append((pl[0], q, cause))
        # People left unexplained are joined by what the truth can still say.
        d = DSU()
        for p, q, _ in edges:
            d.union(p, q)
        roots = {d.find(p) for p in persons}
        if len(roots) > 1:
            hh = {valid[k]["person"]: valid[k]["household"] for k in ks}
            pl = sorted(persons)
            for i, p in enumerate(pl):
                for q in pl[i + 1:]:
                    if d.find(p) != d.find(q):
                        pp, pq = PEOPLE.get(p, {}), PEOPLE.get(q, {})
                        if hh[p] != hh[q]:
                            cause = "no shared identifier (names, address or engine rule)"
                        elif pp.get("junior") or pq.get("junior"):
                            cause = "father and son of one name, one household"
                        elif pp.get("birth") and pp.get("birth") == pq.get("birth"):
                            cause = "twins, one household"
                        else:
                            cause = "same household, no shared identifier"
                        edges.append((p, q, cause))
                        d.union(p, q)
        lines_of = Counter(valid[k]["person"] for k in ks)
        profs_of = Counter(prof_person.get(m, []))
        wrong_l = pairs(sum(lines_of.values())) - sum(pairs(c) for c in lines_of.values())
        wrong_p = pairs(sum(profs_of.values())) - sum(pairs(c) for c in profs_of.values())
        by_cause: dict[str, list] = defaultdict(list)
        for p, q, c in edges:
            by_cause[c].append((p, q))
        for c in by_cause:
            # Pairs this cause alone is responsible for: those that fall apart without it.
            d2 = DSU()
            for p, q, c2 in edges:
                if c2 != c:
                    d2.union(p, q)
            comps: dict = defaultdict(list)
            for p in persons:
                comps[d2.find(p)].append(p)
            left_l = sum(pairs(sum(lines_of[p] for p in v)) - sum(pairs(lines_of[p]) for p in v)
                         for v in comps.values())
            left_p = sum(pairs(sum(profs_of[p] for p in v)) - sum(pairs(profs_of[p]) for p in v)
                         for v in comps.values())
            merge_lines[c] += wrong_l - left_l
            merge_profiles[c] += wrong_p - left_p
            if crm_mix_of.get(m) and any(
                    len({p for p in v if p in crm_mix_of[m]}) > 1 for v in comps.values()) is False:
                merge_crm_mix[c] += 1
            merge_members[c] += 1
            if len(merge_examples[c]) < 3:
                rank = {"crm": 0, "transactions": 1, "call_center": 2, "web_analytics": 3}
                first_key: dict[str, tuple] = {}
                for k in sorted(ks, key=lambda k: rank[k[0]]):
                    first_key.setdefault(valid[k]["person"], k)
                merge_examples[c].append({"member": m, "people": len(persons), "lines": len(ks),
                                          "pairs": [[p, "/".join(first_key[p]), q, "/".join(first_key[q])]
                                                    for p, q in by_cause[c][:2]]})
    # Missed pairs: lines of one person, linkable by an identifier, that ended apart.
    miss: Counter = Counter()
    miss_prof: Counter = Counter()
    prof_first = {p["keys"][0] for p in profs}
    miss_people: dict[str, set] = defaultdict(set)
    miss_examples: dict[str, list] = defaultdict(list)
    comps: dict = defaultdict(list)
    for k in valid:
        comps[exact.find(k)].append(k)
    for ks in comps.values():
        if len(ks) < 2:
            continue
        block_of = {k: valid[k]["member"] or ("unattributed", k) for k in ks}
        if len(set(block_of.values())) < 2:
            continue
        size = Counter(block_of.values())
        psize = Counter(block_of[k] for k in ks if k in prof_first)
        by_token: dict[str, list] = defaultdict(list)
        for k in ks:
            for t in valid[k]["links"]:
                by_token[t].append(k)
        d = DSU()
        dp: dict = {}
        for b, n in size.items():
            d.find(b)
            d.size[b] = n
            dp[b] = psize.get(b, 0)
        edges = []
        for t, tks in by_token.items():
            for k in tks[1:]:
                a, b = tks[0], k
                if block_of[a] != block_of[b]:
                    edges.append((miss_cause(t, valid[a], valid[b]), a, b))
        edges.sort(key=lambda e: (e[0].startswith("unattributed"), e[0]))
        for cause, a, b in edges:
            ra, rb = d.find(block_of[a]), d.find(block_of[b])
            joined = d.union(block_of[a], block_of[b])
            if joined:
                miss_prof[cause] += dp[ra] * dp[rb]
                dp[d.find(ra)] = dp[ra] + dp[rb]
                miss[cause] += joined
                miss_people[cause].add(valid[a]["person"])
                if len(miss_examples[cause]) < 3:
                    miss_examples[cause].append({"a": list(a), "b": list(b), "pairs": joined})
    for a, b in fuzzy_edges:
        if valid[a]["member"] != valid[b]["member"] or not valid[a]["member"]:
            c = "CRM duplicate with no shared identifier (profile only)"
            miss[c] += 1
            miss_prof[c] += 1
            miss_people[c].add(valid[a]["person"])
            if len(miss_examples[c]) < 3:
                miss_examples[c].append({"a": list(a), "b": list(b), "pairs": 1})
    fam: dict[str, Counter] = defaultdict(Counter)
    for c in miss:
        f = miss_family(c)
        fam[f]["line_pairs"] += miss[c]
        fam[f]["profile_pairs"] += miss_prof[c]
        fam[f]["people"] += len(miss_people[c])
    return {
        "missed_families": [{"family": f, **v} for f, v in sorted(
            fam.items(), key=lambda x: (-x[1]["profile_pairs"], -x[1]["line_pairs"]))],
        "wrong_merges": [{"cause": c, "line_pairs": merge_lines[c], "profile_pairs": merge_profiles[c],
                          "crm_mix_members": merge_crm_mix[c],
                          "members": merge_members[c], "examples": merge_examples[c]}
                         for c in sorted(merge_members, key=lambda c: (-merge_profiles[c], -merge_lines[c]))],
        "missed_pairs": [{"cause": c, "line_pairs": miss[c], "profile_pairs": miss_prof[c],
                          "people": len(miss_people[c]), "examples": miss_examples[c]}
                         for c in sorted(miss, key=lambda c: (-miss_prof[c], -miss[c]))],
    }


CONTEXT = ("previous_card_listed", "user_id_is_email", "card_replaced_unlisted",
           "mpp_open", "email_open", "email_click", "email_form", "login", "public_computer",
           "store_kiosk", "shared_device", "work_email", "household_card", "staff_card_for_guest")


def names_agree(a: dict, b: dict) -> bool:
    """Two CRM lines' names agree once case, accents and nicknames are set aside."""
    pa, pb = a.get("profile") or {}, b.get("profile") or {}
    fa, fb = name_key(pa.get("first")), name_key(pb.get("first"))
    la, lb = name_key(pa.get("last")), name_key(pb.get("last"))
    fa = NICK.get(fa.split()[0], fa.split()[0]) if fa else ""
    fb = NICK.get(fb.split()[0], fb.split()[0]) if fb else ""
    return bool(fa and fa == fb and set(la.split()) & set(lb.split()))


def miss_family(label: str) -> str:
    """The broad cause a missed-pair label belongs to (for the ranked table)."""
    if label.startswith("unattributed: placeholder e-mail <personal>"):
        return "a person's own e-mail called a placeholder: lines unattributed"
    if label.startswith("unattributed: a shared device"):
        return "events of a shared device left unattributed"
    if label.startswith("unattributed"):
        return "other unattributed lines"
    if label.startswith("CRM duplicate with no shared identifier"):
        return "CRM duplicates with only name/birth evidence left apart"
    kind, _, rest = label.partition(" ")
    pair = rest.split(" ")[0].rstrip(",")
    if pair == "crm-crm":
        return "CRM duplicates sharing an e-mail/phone/card left apart"
    if "mpp_open" in label:
        return "Apple-MPP e-mail opens not joined to the recipient"
    if "call_center" in pair:
        return "call-center interactions not joined to the caller's records"
    if pair == "crm-transactions":
        return "orders/cards not joined to the CRM contact of the same e-mail"
    if "web_analytics" in pair:
        return "web events carrying the person's e-mail or login left apart"
    if pair == "transactions-transactions":
        return "online orders under spellings of one e-mail left apart"
    return "other"


def miss_cause(token: str, a: dict, b: dict) -> str:
    """Why two lines of one person that share an identifier of his ended apart (a label)."""
    for r in (a, b):
        if not r["member"]:
            return f"unattributed: {re.sub(r'e-mail [^ :]+:', 'e-mail <personal>:', str(r['unattributed']))}"
    kind = token.split(":")[0]
    pair = "-".join(sorted((a["source"], b["source"])))
    ctx = sorted({t for t in a["tags"] | b["tags"] if t in CONTEXT} - {"late_line"})
    surf = {surface(token, r) for r in (a, b)}
    same = "same spelling" if len(surf) == 1 else "spelt differently"
    if kind == "email" and token in FLAGGED:
        ctx.append("engine calls this e-mail a placeholder")
    if a["source"] == b["source"] == "crm":
        ctx.append("names agree" if names_agree(a, b) else "names differ")
        ba, bb = a["line"].get("birth_date"), b["line"].get("birth_date")
        ctx.append("births equal" if ba and ba == bb else "births differ" if ba and bb else "a birth date missing")
        ca, cb = norm_card(a["line"].get("loyalty_id")), norm_card(b["line"].get("loyalty_id"))
        ctx.append("two cards" if ca and cb and ca != cb else "under two cards")
    elif {a["source"], b["source"]} == {"crm", "transactions"}:
        t = a if a["source"] == "transactions" else b
        c = b if t is a else a
        ctx.append("order with a card" if t["line"].get("loyalty_id") else "order without card")
        ctx.append("contact with a card" if c["line"].get("loyalty_id") else "contact without card")
    return f"{kind} {pair}" + (f" [{', '.join(ctx)}]" if ctx else "") + f", {same}"


def surface(token: str, r: dict) -> str:
    """The raw spelling of ``token`` on line ``r`` (the first that normalises to it)."""
    line = r["line"]
    kind = token.split(":")[0]
    cands: list = []
    if r["source"] == "crm":
        cands = list(line.get("emails") or []) + list(line.get("phones") or []) + [
            line.get("loyalty_id"), line.get("contact_id")] + list(line.get("previous_loyalty_ids") or [])
    elif r["source"] == "transactions":
        cands = [line.get("loyalty_id"), line.get("email")]
    elif r["source"] == "web_analytics":
        cands = [line.get("anonymous_id"), line.get("email"), line.get("user_id")]
    else:
        ref = line.get("account_ref") or {}
        cands = [line.get("caller_phone"), ref.get("value") if isinstance(ref, dict) else None]
    for c in cands:
        if isinstance(c, str) and NORM[kind](c) == token:
            return c
    return "?"


# ----------------------------------------------------------------- report


def markdown(res: dict) -> str:
    r = res["recall"]
    out = [f"# membergraph on independent data: {res['data']}", "",
           "| figure | value |", "| --- | --- |"]

    def pct(x: float | None) -> str:
        return "n/a" if x is None else f"{100 * x:.2f}%"

    rows = [
        ("people / unique line keys / lines", f"{res['people']:,} / {res['unique_line_keys']:,} / {res['lines']:,}"),
        ("members", f"{res['members']:,}"),
        ("profile precision", f"{pct(res['profile_precision'])} ({res['profile_pairs_same_person']:,} / {res['profile_pairs']:,} pairs)"),
        ("all-record (line) precision", f"{pct(res['line_precision'])} ({res['line_pairs_same_person']:,} / {res['line_pairs']:,})"),
        ("all-record precision, events of shared visitors set aside", f"{pct(res['line_precision_without_shared_visitors'])} ({res['line_pairs_without_shared_visitors']:,} pairs)"),
        ("achievable recall, lines (exact identifiers)", f"{pct(r['exact']['line_recall'])} ({r['exact']['line_pairs_together']:,} / {r['exact']['line_pairs_achievable']:,})"),
        ("achievable recall, profiles (exact identifiers)", f"{pct(r['exact']['profile_recall'])} ({r['exact']['profile_pairs_together']:,} / {r['exact']['profile_pairs_achievable']:,})"),
        ("achievable recall, profiles (exact or profile match)", f"{pct(r['exact_or_profile']['profile_recall'])} ({r['exact_or_profile']['profile_pairs_together']:,} / {r['exact_or_profile']['profile_pairs_achievable']:,})"),
        ("achievable recall, lines (exact or profile match)", f"{pct(r['exact_or_profile']['line_recall'])}"),
        ("largest member: people (lines)", f"{res['largest_member']['people']} ({res['largest_member']['lines']:,})"),
        ("CRM mix members (2+ people's contacts)", f"{res['crm_mix_members']:,}"),
        ("members with more than 4 people", f"{res['members_over_4_people']:,}"),
        ("members with 2+ people", f"{res['members_with_2plus_people']:,}"),
        ("unattributed line keys", f"{res['unattributed_keys']:,}"),
        ("malformed lines (error)", f"{res['error_lines']:,}"),
    ]
    out += [f"| {a} | {b} |" for a, b in rows]
    out += ["", "Unattributed by the engine's reason:", ""]
    out += [f"- {v:,} {k}" for k, v in res["unattributed_by_reason"].items()]
    out += [f"- (truth) {v:,} {k}" for k, v in res["unattributed_by_truth"].items()]
    out += ["", "## Wrong merges by cause (pairs that fall apart without the cause)", "",
            "| cause | profile pairs | line pairs | members | CRM-mix members it alone makes |",
            "| --- | ---: | ---: | ---: | ---: |"]
    out += [f"| {c['cause']} | {c['profile_pairs']:,} | {c['line_pairs']:,} | {c['members']:,} | {c['crm_mix_members']:,} |"
            for c in res["causes"]["wrong_merges"]]
    out += ["", "## What became of the lines each phenomenon touched", "",
            "| tag | line keys | in her home member | another member of hers | led by another person | unattributed |",
            "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for t, c in res["phenomena"].items():
        n = c["lines"]
        out.append(f"| {t} | {n:,} | " + " | ".join(
            f"{100 * c.get(k, 0) / n:.1f}%" for k in ("home", "another member of hers",
                                                        "with another person", "unattributed")) + " |")
    out += ["", "E-mails the engine called placeholders, by what makes them look shared:", ""]
    out += [f"- {k}: {v.get('emails', 0):,} e-mails, {v.get('lines', 0):,} lines unattributed"
            for k, v in res["personal_emails_called_placeholders"].items()]
    out += ["", "## Missed pairs by broad cause", "",
            "| cause | profile pairs | line pairs | people (summed over labels) |",
            "| --- | ---: | ---: | ---: |"]
    out += [f"| {c['family']} | {c['profile_pairs']:,} | {c['line_pairs']:,} | {c['people']:,} |"
            for c in res["causes"]["missed_families"]]
    out += ["", "## Missed pairs by cause (pairs of one person linkable by an identifier)", "",
            "| cause | profile pairs | line pairs | people |", "| --- | ---: | ---: | ---: |"]
    out += [f"| {c['cause']} | {c['profile_pairs']:,} | {c['line_pairs']:,} | {c['people']:,} |"
            for c in res["causes"]["missed_pairs"][:60]]
    return "\n".join(out) + "\n"


def run_resolve(data: Path, answer: Path) -> float:
    with tempfile.TemporaryDirectory(prefix="foreign6-") as tmp:
        store = f"sqlite:///{tmp}/store.db"
        cmd = [sys.executable, "-c", "from membergraph.cli import app; app()", "resolve",
               "--data", str(data), "--out", str(answer), "--store", store]
        start = time.monotonic()
        done = subprocess.run(cmd, env=os.environ.copy(), capture_output=True, text=True)
        took = time.monotonic() - start
        sys.stderr.write(done.stdout[-3000:] + done.stderr[-3000:])
        if done.returncode != 0:
            raise SystemExit(f"resolve failed ({done.returncode})")
        return took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--answer", type=Path, help="the engine's answer (resolve --out)")
    ap.add_argument("--run", action="store_true", help="run membergraph resolve first")
    ap.add_argument("--out-json", type=Path, required=True)
    ap.add_argument("--out-md", type=Path, required=True)
    a = ap.parse_args()
    answer = a.answer or a.out_json.with_suffix(".answer.jsonl")
    took = None
    if a.run:
        took = run_resolve(a.data, answer)
    elif not a.answer:
        raise SystemExit("give --answer or --run")
    if took is None and a.out_json.exists():
        # Re-evaluating an answer: keep the resolve time the run that made it measured.
        took = json.loads(a.out_json.read_text()).get("resolve_seconds")
    res = evaluate(a.data, answer)
    res["resolve_seconds"] = took
    try:
        import membergraph  # noqa: F401

        res["membergraph"] = str(Path(membergraph.__file__).parent)
    except ImportError:
        res["membergraph"] = None
    a.out_json.write_text(json.dumps(res, indent=1, default=list))
    a.out_md.write_text(markdown(res))
    print(markdown(res))


if __name__ == "__main__":
    main()
