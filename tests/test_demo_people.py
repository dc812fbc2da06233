"""The demo generator's people: what their own values say about them."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from membergraph.demo import write_demo_data
from membergraph.demo.people import Generator
from membergraph.demo.profiles import PROFILES


@pytest.mark.parametrize("profile", ["default", "holdout"])
def test_everyones_own_email_names_her_as_she_is_called(profile: str) -> None:
    # Given the demo's people, twins named a letter from each other among them
    people = Generator(2000, 7, PROFILES[profile]).people()
    assert any(p.named_close for p in people)
    # Then each own e-mail begins with her first name or its initial, as people's do
    for person in people:
        if person.email is not None:
            local = person.email.partition("@")[0]
            assert local.startswith((person.first.lower(), person.first[:1].lower())), person


def _shared_by_two(folder: Path) -> int:
    """E-mails on the newest contacts of exactly two people (households' own addresses
    aside; placeholders and tills' addresses are on many)."""
    person = {}
    for row in (folder / "truth.jsonl").read_text().splitlines():
        line = json.loads(row)
        if line["source"] == "crm":
            person[line["id"]] = line["person"]
    newest: dict[str, dict[str, Any]] = {}
    for row in (folder / "crm.jsonl").read_text().splitlines():
        line = json.loads(row)
        held = newest.get(line["contact_id"])
        if held is None or line["updated_at"] > held["updated_at"]:
            newest[line["contact_id"]] = line
    people_on: dict[str, set[str]] = {}
    for contact, line in newest.items():
        for email in line["emails"]:
            if not email.startswith("the."):
                people_on.setdefault(email.strip().lower(), set()).add(person[contact])
    return sum(1 for people in people_on.values() if len(people) == 2)


@pytest.mark.parametrize("profile", ["default", "holdout"])
def test_some_young_adults_contacts_still_carry_an_elders_email(
    profile: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the demo's data, and the same data with no elder's e-mail kept
    write_demo_data(tmp_path / "kept", 2000, 7, profile)
    never = dataclasses.replace(PROFILES[profile], elder_email_kept=0.0)
    monkeypatch.setitem(PROFILES, profile, never)
    write_demo_data(tmp_path / "never", 2000, 7, profile)
    # Then the demo has young adults' newest contacts carrying an elder's personal e-mail
    assert _shared_by_two(tmp_path / "kept") > _shared_by_two(tmp_path / "never")


@pytest.mark.parametrize("profile", ["default", "holdout"])
def test_some_sons_are_named_after_their_fathers_and_are_two_people(
    profile: str, tmp_path: Path
) -> None:
    # Given the demo's data
    write_demo_data(tmp_path, 2000, 7, profile)
    person = {}
    for row in (tmp_path / "truth.jsonl").read_text().splitlines():
        line = json.loads(row)
        if line["source"] == "crm":
            person[line["id"]] = line["person"]
    names: dict[tuple[str, str], set[str]] = {}
    suffixed = 0
    for row in (tmp_path / "crm.jsonl").read_text().splitlines():
        line = json.loads(row)
        last = line["last_name"]
        for suffix in (" Jr.", " Sr."):
            if last.endswith(suffix):
                suffixed += 1
                last = last.removesuffix(suffix)
        names.setdefault((line["first_name"], last), set()).add(person[line["contact_id"]])
    # Then some contacts write a generational suffix, and some names are a father's and a
    # son's: one name, two people of one household
    assert suffixed > 0
    assert any(len(people) == 2 for people in names.values())


def _named_by_another_first_name(folder: Path) -> int:
    """Contacts carrying another person's address made of a first name that is not theirs
    and digits (``priya401@`` on Jessica's: her mother's)."""
    person = {}
    for row in (folder / "truth.jsonl").read_text().splitlines():
        line = json.loads(row)
        if line["source"] == "crm":
            person[line["id"]] = line["person"]
    firsts: dict[str, str] = {}  # an address's first-name-and-digits local part -> its owner
    lines = [json.loads(row) for row in (folder / "crm.jsonl").read_text().splitlines()]
    for line in lines:
        for email in line["emails"]:
            local = email.strip().lower().partition("@")[0]
            if local.rstrip("0123456789") == line["first_name"].lower():
                firsts.setdefault(email.strip().lower(), person[line["contact_id"]])
    return sum(
        1
        for line in lines
        for email in line["emails"]
        if (owner := firsts.get(email.strip().lower())) is not None
        and owner != person[line["contact_id"]]
        and not email.strip().lower().startswith(line["first_name"].lower())
    )


@pytest.mark.parametrize("profile", ["default", "holdout"])
def test_some_young_adults_carry_a_parents_address_of_a_first_name_and_digits(
    profile: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the demo's data, and the same data with no elder's address of that form
    write_demo_data(tmp_path / "named", 2000, 7, profile)
    never = dataclasses.replace(PROFILES[profile], elder_email_first_name=0.0)
    monkeypatch.setitem(PROFILES, profile, never)
    write_demo_data(tmp_path / "never", 2000, 7, profile)
    # Then some contacts carry a relative's address naming the relative by a first name
    # alone (priya401@ on Jessica's), which the data without the phenomenon lacks
    assert _named_by_another_first_name(tmp_path / "named") > 0
    assert _named_by_another_first_name(tmp_path / "never") == 0


def _cards_web_orders_under_anothers_address(folder: Path) -> int:
    """Web orders on a card under an address another person's contact carries (a young
    adult's card under her parent's address)."""
    person = {}
    for row in (folder / "truth.jsonl").read_text().splitlines():
        line = json.loads(row)
        person[(line["source"], line["id"])] = line["person"]
    owner: dict[str, str] = {}
    for row in (folder / "crm.jsonl").read_text().splitlines():
        line = json.loads(row)
        for email in line["emails"]:
            owner.setdefault(email.strip().lower(), person[("crm", line["contact_id"])])
    count = 0
    for row in (folder / "transactions.jsonl").read_text().splitlines():
        line = json.loads(row)
        if line["channel"] != "online" or not line["loyalty_id"] or not line["email"]:
            continue
        holder = owner.get(line["email"].strip().lower())
        count += holder is not None and holder != person[("transactions", line["transaction_id"])]
    return count


@pytest.mark.parametrize("profile", ["default", "holdout"])
def test_some_young_adults_order_online_with_their_card_under_a_parents_address(
    profile: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the demo's data, and the same data without the thirtieth round's phenomenon
    write_demo_data(tmp_path / "made", 2000, 7, profile)
    never = dataclasses.replace(PROFILES[profile], parents_address=0.0)
    monkeypatch.setitem(PROFILES, profile, never)
    write_demo_data(tmp_path / "never", 2000, 7, profile)
    # Then more web orders on a card give another person's address (her parent's) than in
    # the data without it (where a household's shared address does, or an elder's on her
    # first contact)
    made = _cards_web_orders_under_anothers_address(tmp_path / "made")
    assert made > _cards_web_orders_under_anothers_address(tmp_path / "never")


@pytest.mark.parametrize("profile", ["default", "holdout"])
def test_relatives_call_for_a_household_member(
    profile: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the demo's data, and the same data with no relative calling for anyone
    write_demo_data(tmp_path / "calls", 2000, 7, profile)
    never = dataclasses.replace(PROFILES[profile], relative_call=0.0)
    monkeypatch.setitem(PROFILES, profile, never)
    write_demo_data(tmp_path / "none", 2000, 7, profile)

    def calls(folder: Path) -> dict[str, dict[str, Any]]:
        rows = (folder / "call_center.jsonl").read_text().splitlines()
        return {line["interaction_id"]: line for line in map(json.loads, rows)}

    def people(folder: Path) -> dict[str, str]:
        rows = (folder / "truth.jsonl").read_text().splitlines()
        return {line["id"]: line["person"] for line in map(json.loads, rows)}

    made, none = calls(tmp_path / "calls"), calls(tmp_path / "none")
    added = {iid: line for iid, line in made.items() if iid not in none}
    # Then the relatives' calls come beside the calls there were, which stay what they were
    assert added
    assert all(made[iid] == line for iid, line in none.items())
    # And each is the account holder's, typed by her contact id or card, from a phone
    person = people(tmp_path / "calls")
    for iid, line in added.items():
        assert line["caller_phone"]
        assert line["account_ref"]["kind"] in ("crm_id", "loyalty_id")
        if line["account_ref"]["kind"] == "crm_id":
            assert person[line["account_ref"]["value"]] == person[iid]


def _lines_by_person(folder: Path) -> dict[str, list[bytes]]:
    """Each person's lines, every source's in the order written."""
    files = {
        name: (folder / f"{name}.jsonl").read_bytes().splitlines()
        for name in ("crm", "transactions", "web_analytics", "call_center")
    }
    seen = dict.fromkeys(files, 0)
    lines: dict[str, list[bytes]] = {}
    for row in (folder / "truth.jsonl").read_text().splitlines():
        truth = json.loads(row)
        source = truth["source"]
        lines.setdefault(truth["person"], []).append(files[source][seen[source]])
        seen[source] += 1
    return lines


@pytest.mark.parametrize("profile", ["default", "holdout"])
def test_the_thirty_second_rounds_households_leave_everyone_else_as_they_were(
    profile: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the demo's data, and the same data without the thirty-second round's phenomena
    made = write_demo_data(tmp_path / "made", 2000, 7, profile)
    rates = ("namesake_son", "shared_handle", "old_contact_in_use", "joint_contact")
    never = dataclasses.replace(PROFILES[profile], **dict.fromkeys(rates, 0.0))
    monkeypatch.setitem(PROFILES, profile, never)
    none = write_demo_data(tmp_path / "none", 2000, 7, profile)
    # Then each phenomenon touched some people, and a namesake son was added per father
    assert set(made.phenomena) == {
        "namesake_son",
        "shared_handle",
        "old_contact_in_use",
        "joint_contact",
    }
    assert none.phenomena == {}
    assert made.people == 2000 + len(made.phenomena["namesake_son"])
    # And everyone they did not touch has her lines byte for byte as they were
    touched = {pid for cases in made.phenomena.values() for case in cases for pid in case[1:]}
    with_them, without = _lines_by_person(tmp_path / "made"), _lines_by_person(tmp_path / "none")
    assert {p: lines for p, lines in with_them.items() if p not in touched} == {
        p: lines for p, lines in without.items() if p not in touched
    }
