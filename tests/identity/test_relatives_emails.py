"""An e-mail on a CRM contact that names another person of her family: a parent's address
given for a student, which must not join the parent's orders and opens to her."""

from __future__ import annotations

import pytest

from membergraph.identity.engine import resolve
from membergraph.identity.phone_duplicates import ReenrolmentRules
from membergraph.identity.rules import Rules
from tests.identity.builders import crm, event, purchase, world


@pytest.mark.parametrize(
    ("first", "last", "email", "joined"),
    [
        # The family name with another first name or initial: a parent's, a spouse's.
        pytest.param("David", "Johnson", "benjaminjohnson@outlook.com", False, id="father"),
        pytest.param("Joseph", "Brown", "dbrown@gmail.com", False, id="initial-and-family"),
        pytest.param("Jessica", "Zhang", "patrick.zhang@icloud.com", False, id="dotted"),
        pytest.param("Mary", "Lee", "matthewlee47@outlook.com", False, id="digits-after"),
        pytest.param("Zachary", "Gacria", "seangarcia66@hotmail.com", False, id="family-typo"),
        pytest.param("Joseph", "Smith", "michael397@gmail.com", False, id="listed-name-alone"),
        pytest.param("Susan", "Scott", "stevenscott61@aol.com", False, id="not-a-slip-of-sue"),
        # Another person's whole name: a relative's of another family name, a clerk's.
        pytest.param("Patricia", "Williams", "richard_harris@gmail.com", False, id="whole-name"),
        # Another person by common names (near_duplicates.first_names, family_names): a
        # parent who signs with a first name alone, a mother of another family name.
        pytest.param("Jessica", "Zhang", "priya401@hotmail.com", False, id="common-first-alone"),
        pytest.param("Emily", "Walker", "miguelsanchez@icloud.com", False, id="common-whole-name"),
        pytest.param(
            "Barbara", "Bennett", "nhernandez@hotmail.com", False, id="initial-other-family"
        ),
        # The family name with its own initial beside it: another J. Jones, not Nicholas.
        pytest.param("Nicholas", "Jones", "jjones@yahoo.com", False, id="family-own-initial"),
        pytest.param("Elizabeth", "Clark", "clarkc@gmail.com", False, id="own-initial-after"),
        # A name of her own is not a slip of another listed name (Jen is not Ben): bdavis@
        # names a B. Davis, not Jen Davis.
        pytest.param("Jen", "Davis", "bdavis@icloud.com", False, id="not-a-slip-of-ben"),
        # Another family name with an initial after it, not hers: a clerk's andersonp@.
        pytest.param("Rebecca", "Brown", "andersonp@gmail.com", False, id="other-family-initial"),
        # A listed first name alone whose initial is only her family name's: not a D. Davis.
        pytest.param(
            "Christopher", "Davis", "donna169@hotmail.com", False, id="first-alone-family-initial"
        ),
        # ... but not her own first name typed short or with a slip, nor a word that is a
        # first and a family name both, nor her initial before another family name (a maiden
        # name).
        pytest.param(
            "Srah", "Williams", "sarah564@gmail.com", True, id="common-first-hers-slipped"
        ),
        pytest.param(
            "Jn", "Moore", "jennifermoore83@yahoo.com", True, id="common-first-hers-short"
        ),
        pytest.param("Emily", "Jones", "carter77@gmail.com", True, id="first-or-family-name"),
        pytest.param(
            "Barbara", "Bennett", "bhernandez@hotmail.com", True, id="her-initial-other-family"
        ),
        pytest.param("Rosa", "Diaz", "sunshine5290@gmail.com", True, id="a-word-no-name"),
        pytest.param("Linda", "Jones", "cruzl@comcast.net", True, id="other-family-her-initial"),
        pytest.param("Jessica", "James", "jamesj@live.ca", True, id="family-and-her-initial"),
        pytest.param("Nicholas", "Jones", "njones@yahoo.com", True, id="her-initial-family"),
        pytest.param("Tim", "Gray", "timgray@yahoo.com", True, id="short-form-of-her-own"),
        pytest.param("Peeggy", "Moore", "margaret.moore@aol.com", True, id="slip-of-a-listed"),
        pytest.param("Sarah", "Hill", "sarah.goldberg@aol.com", True, id="her-first-other-family"),
        # Her own name, in the forms people write it in their addresses.
        pytest.param("Ken", "Johnson", "kenneth.johnson82@icloud.com", True, id="long-form"),
        pytest.param("Kenneth", "Johnson", "kjohnson@gmail.com", True, id="her-initial"),
        pytest.param("Karen", "Taylor", "taylork@icloud.com", True, id="family-first"),
        pytest.param("Bobby", "Cote", "rcote@gmail.com", True, id="nickname-initial"),
        pytest.param("Pepe", "González", "jose_gonzalez@yahoo.com", True, id="spanish-short-form"),
        pytest.param("Xander", "Collins", "alexander747@gmail.com", True, id="name-end"),
        pytest.param("Jessca", "Zhang", "jessica.zhang@gmail.com", True, id="her-name-typo"),
        pytest.param("Johnson", "Ken", "kenneth.johnson@icloud.com", True, id="names-swapped"),
        pytest.param("Samantha", "O'Connor", "soconnor@gmail.com", True, id="apostrophe"),
        pytest.param("Andrés", "Díaz Ramírez", "diazr@gmail.com", True, id="second-surname"),
        pytest.param("Jess", "Collins", "thomasj@comcast.net", True, id="maiden-name-initial"),
        pytest.param("Mary", "Cheen", "jonesm@gmail.com", True, id="a-name-begins-it"),
        pytest.param("Dnna", "Tremblay", "donna369@icloud.com", True, id="her-name-typed-short"),
        # A contact a till made for whoever stood there: the address is that person's.
        pytest.param("Walk", "In", "samuel.morales@yahoo.com", True, id="walk-in"),
        # Nothing in it to read: a maiden name, a hobby, the family alone.
        pytest.param("Sarah", "Gutierrez", "sarah_belanger@icloud.com", True, id="maiden-name"),
        pytest.param("Rosa", "Diaz", "coffeelover113@icloud.com", True, id="no-name"),
        # A word that begins with a listed first name is no name of another's: her own
        # handle (a listed first name before letters no listed family name).
        pytest.param("Sarah", "Lee", "jackfruit88@gmail.com", True, id="word-after-jack"),
        pytest.param("Sarah", "Lee", "robinhood@yahoo.com", True, id="word-after-robin"),
        pytest.param("Maria", "Garcia", "willpower@icloud.com", True, id="word-after-will"),
        pytest.param("David", "Kim", "tomatoes7@aol.com", True, id="word-after-tom"),
        pytest.param("Rosa", "Diaz", "thediazs34@yahoo.com", True, id="the-family"),
        pytest.param("Rosa", "Diaz", "diaz@yahoo.com", True, id="family-alone"),
        pytest.param("Rosa", "Diaz", "diazfamily@yahoo.com", True, id="the-household"),
        # A listed first name alone that is her family name with a slip names that first
        # name (relatives_emails_not_slips): a parent's, not Williams without its s.
        pytest.param("Richard", "Williams", "william862@outlook.com", False, id="first-not-slip"),
        pytest.param("John", "Roberts", "robert55@gmail.com", False, id="first-not-slip-robert"),
        # ... but her family name whole, or with her initial beside a slip, is hers; and a
        # family name that is no common one is her first name written the other way round.
        pytest.param("Richard", "Williams", "williams862@outlook.com", True, id="family-whole"),
        pytest.param("Richard", "Willams", "williamsr@outlook.com", True, id="slip-and-initial"),
        pytest.param("SANDERS", "MATTTHEW", "matthew112@gmail.com", True, id="swapped-slip"),
        pytest.param("Elizabeth", "Martun", "martine@yahoo.com", True, id="slip-and-her-initial"),
    ],
)
def test_online_orders_join_a_contact_only_under_an_email_that_may_be_hers(
    first: str, last: str, email: str, joined: bool
) -> None:
    # Given a contact carrying an e-mail, and card-less online orders under that e-mail
    contact = crm("C0000001", first=first, last=last, birth=None, emails=[email])
    orders = purchase(email=email, channel="online", tid="T1")
    result = resolve(world(contact, orders))
    # Then the orders are in her member only when the address may be hers
    together = any(contact.ref in c and orders.ref in c for c in result.components)
    assert together is joined


def test_the_relatives_orders_and_opens_stay_together_without_her() -> None:
    # Given David Johnson's contact carrying his father's address, the father's orders and
    # an open of a marketing e-mail naming that address
    david = crm("C0000001", first="David", last="Johnson", emails=["benjaminjohnson@outlook.com"])
    orders = purchase(email="benjaminjohnson@outlook.com", channel="online", tid="T1")
    opened = event("a-1", email="benjaminjohnson@outlook.com")
    result = resolve(world(david, orders, opened))
    # Then the father's orders and open are one member, and David is alone
    assert sorted(sorted(c) for c in result.components) == [
        [david.ref],
        sorted([orders.ref, opened.ref]),
    ]


def test_the_parents_orders_join_neither_of_her_two_contacts_on_his_address() -> None:
    # Given two contacts of Alexander Howard (one with a slip in the family name), each
    # carrying his father's address and one birth date
    one = crm("C0000001", first="Alexander", last="Howard", emails=["james.howard@icloud.com"])
    two = crm("C0000002", first="Alexander", last="Howad", emails=["james.howard@icloud.com"])
    orders = purchase(email="james.howard@icloud.com", channel="online", tid="T1")
    result = resolve(world(one, two, orders))
    # Then the orders are his father's alone
    assert [orders.ref] in result.components


def test_without_common_names_only_her_names_and_the_nicknames_are_read() -> None:
    # Given Jessica Zhang's contact carrying her mother's priya401@ address, and the mother's
    # card-less orders under it, with rules that list no common names
    rules = Rules.model_validate({"near_duplicates": {"first_names": [], "family_names": []}})
    contact = crm("C0000001", first="Jessica", last="Zhang", emails=["priya401@hotmail.com"])
    orders = purchase(email="priya401@hotmail.com", channel="online", tid="T1")
    # Then the address reads as hers again: the orders join her contact
    result = resolve(world(contact, orders), rules)
    assert any(contact.ref in c and orders.ref in c for c in result.components)
    # ... and with the built-in lists they stay the mother's
    result = resolve(world(contact, orders))
    assert not any(contact.ref in c and orders.ref in c for c in result.components)


def test_the_rule_can_be_turned_off() -> None:
    # Given the rules without it, a contact on her father's address and his orders
    david = crm("C0000001", first="David", last="Johnson", emails=["benjaminjohnson@outlook.com"])
    orders = purchase(email="benjaminjohnson@outlook.com", channel="online", tid="T1")
    result = resolve(world(david, orders), Rules(relatives_emails=False))
    # Then the address links them, as before the rule
    assert [sorted([david.ref, orders.ref])] == [sorted(c) for c in result.components]


def test_a_first_name_slipped_from_her_family_name_can_be_read_as_hers_again() -> None:
    # Given Richard Williams's contact on william862@ and that address's card-less orders,
    # with the rules that read the address as his family name typed with a slip
    richard = crm("C0000001", first="Richard", last="Williams", emails=["william862@outlook.com"])
    orders = purchase(email="william862@outlook.com", channel="online", tid="T1")
    result = resolve(world(richard, orders), Rules(relatives_emails_not_slips=False))
    # Then the address links them, as before the setting
    assert [sorted([richard.ref, orders.ref])] == [sorted(c) for c in result.components]


@pytest.mark.parametrize(
    ("son", "address", "joined"),
    [
        # His son's contact carries the father's address as a relative's: the father's own.
        pytest.param(("Jim", "Morris"), "joshua843@gmail.com", True, id="sons-contact"),
        pytest.param(("Dana", "Reyes"), "joshua843@gmail.com", True, id="names-joshua-alone"),
        # Another contact on it that may be its owner too: a family's, linking no one.
        pytest.param(("Josh", "Morris"), "joshua843@gmail.com", False, id="a-short-form-of-his"),
        pytest.param(("Jim", "Morris"), "coffeelover113@gmail.com", False, id="names-no-one"),
    ],
)
def test_an_email_shared_only_with_a_relatives_contact_links_its_owner(
    son: tuple[str, str], address: str, joined: bool
) -> None:
    # Given Joshua Morris's contact on an address, another contact carrying it too, and the
    # address's online orders and e-mail open
    joshua = crm("C0000001", first="Joshua", last="Morris", birth="1960-02-03", emails=[address])
    other = crm("C0000002", first=son[0], last=son[1], birth="1990-05-06", emails=[address])
    orders = purchase(email=address, channel="online", tid="T1")
    opened = event("a-1", email=address)
    result = resolve(world(joshua, other, orders, opened))
    # Then Joshua's orders and open are his when the other contact carries it as a
    # relative's, and nobody's contact's while it may be the other's
    member = next(c for c in result.components if joshua.ref in c)
    assert (orders.ref in member and opened.ref in member) is joined
    assert other.ref not in member


def test_without_reweighing_a_relatives_email_stays_shared() -> None:
    # Given the rules that weigh the address with every contact carrying it (and that read
    # no shared address as the one member's its contacts are left in)
    address = "joshua843@gmail.com"
    joshua = crm("C0000001", first="Joshua", last="Morris", emails=[address])
    jim = crm("C0000002", first="Jim", last="Morris", birth="1990-05-06", emails=[address])
    orders = purchase(email=address, channel="online", tid="T1")
    rules = Rules(relatives_emails_share_nothing=False, shared_emails_of_one_member=False)
    result = resolve(world(joshua, jim, orders), rules)
    # Then it links no one: Joshua's orders stay apart
    assert [orders.ref] in result.components


@pytest.mark.parametrize(
    ("holder", "joined"),
    [
        # Her mother's address (H. Gray) on Andrew Gray's contact, as a relative's, and on
        # his half-brother David Phillips's: it names neither, the mother has no contact.
        pytest.param(("David", "Phillips"), False, id="names-another-young-adult-not"),
        # Helen Gray's own contact: the address names her.
        pytest.param(("Helen", "Gray"), True, id="names-its-owner"),
    ],
)
def test_a_relatives_email_is_weighed_again_only_for_a_contact_it_names(
    holder: tuple[str, str], joined: bool
) -> None:
    # Given a household address carried by Andrew Gray's contact (a relative's: his family
    # name, another initial) and by one other contact, with the address's online orders
    address = "hgray53213@gmail.com"
    andrew = crm("C0000001", first="Andrew", last="Gray", birth="2008-01-06", emails=[address])
    other = crm("C0000002", first=holder[0], last=holder[1], birth="2005-01-13",
                emails=[address])  # fmt: skip
    orders = purchase(email=address, channel="online", tid="T1")
    result = resolve(world(andrew, other, orders))
    # Then the orders join the other contact only when the address names its holder
    member = next(c for c in result.components if other.ref in c)
    assert (orders.ref in member) is joined
    assert andrew.ref not in member


EACH_OFF = ReenrolmentRules(own_emails_name_each=False)
KING = {"line1": "12 Oak St", "city": "Columbus", "postal_code": "43215", "country": "US"}


@pytest.mark.parametrize(
    ("first_emails", "second_emails", "rules", "merged"),
    [
        # Her parent's address on one contact, her own on the other: one person enrolled
        # twice (the parent's address is no value of hers that another contact lacks).
        pytest.param(["john.king81@gmail.com"], ["sking@icloud.com"], Rules(), True,
                     id="parents-address-on-one"),
        # (With own_emails_name_each off: an address naming another person on one is
        # otherwise no evidence of two people either.)
        pytest.param(["john.king81@gmail.com"], ["sking@icloud.com"],
                     Rules(relatives_emails_not_her_own=False, reenrolments=EACH_OFF), False,
                     id="rule-off"),
        pytest.param(["john.king81@gmail.com"], ["sking@icloud.com"],
                     Rules(relatives_emails=False, reenrolments=EACH_OFF), False,
                     id="relatives-not-read"),
        # Each an address of her own: two people of one name (a father and son, twins).
        pytest.param(["sarah.k@mail.org"], ["sking@icloud.com"], Rules(), False,
                     id="each-her-own"),
        pytest.param(["sarahking@gmail.com"], ["sking@icloud.com"], Rules(), False,
                     id="an-address-naming-her-is-hers"),
    ],
)  # fmt: skip
def test_a_relatives_address_is_no_value_of_her_own(
    first_emails: list[str], second_emails: list[str], rules: Rules, merged: bool
) -> None:
    # Given Sarah King's two contacts on one mobile at one postcode, a birth date on one
    first = crm(
        "C1",
        first="Sarah",
        last="King",
        birth="2006-10-14",
        emails=first_emails,
        phones=["3179942740"],
        address=KING,
    )
    second = crm("C2", first="Ssrah", last="King", birth=None, emails=second_emails,
                 phones=["3179942740"], address=KING)  # fmt: skip
    result = resolve(world(first, second), rules)
    # Then they are one member exactly when only a relative's address told them apart
    assert any(first.ref in c and second.ref in c for c in result.components) is merged
