"""What the demo people are made of: names, places, products, numbers."""

from __future__ import annotations

from datetime import UTC, datetime

# Small pools on purpose: real data has many people sharing a first or last name.
FIRST = """
James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David Barbara
Richard Susan Joseph Jessica Thomas Sarah Charles Karen Daniel Nancy Matthew Lisa Anthony
Betty Mark Sandra Donald Ashley Steven Kimberly Paul Emily Andrew Donna Joshua Michelle
Kenneth Carol Kevin Amanda Brian Melissa George Deborah Timothy Stephanie Ronald Rebecca
Jason Laura Edward Sharon Jeffrey Cynthia Ryan Kathleen Jacob Amy Gary Angela Nicholas Anna
Eric Brenda Jonathan Pamela Larry Emma Justin Nicole Scott Helen Brandon Samantha Benjamin
Katherine Samuel Christine Gregory Debra Alexander Rachel Patrick Carolyn Frank Janet
Raymond Maria Jack Olivia Dennis Heather Jerry Diane Tyler Julie Aaron Joyce Jose Victoria
Adam Ruth Nathan Virginia Henry Lauren Zachary Kelly Douglas Christina Peter Joan Kyle
Evelyn Noah Judith Ethan Andrea Jeremy Hannah Walter Megan Christian Cheryl Keith Jacqueline
Roger Martha Terry Madison Austin Teresa Sean Gloria Gerald Sara Carl Janice Harold Ann
Dylan Kathryn Arthur Abigail Lawrence Sophia Jordan Frances Jesse Jean Bryan
""".split()  # noqa: SIM905
LAST = """
Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez
Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris
Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill
Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips
Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook
Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward
Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez
Castillo Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan
Bell Coleman Butler Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan Patterson
Alexander Hamilton Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant Herrera
""".split()  # noqa: SIM905
STREETS = "Oak Maple Pine Cedar Elm Washington Lake Hill Park Main Sunset Lincoln River".split()  # noqa: SIM905
CITIES = [("Springfield", "62701"), ("Portland", "97201"), ("Austin", "73301"), ("Denver", "80202")]
DOMAINS = ["gmail.com"] * 4 + ["yahoo.com", "outlook.com", "icloud.com", "proton.me", "aol.com"]
AREA = ["212", "312", "415", "503", "512", "617", "702", "720", "213", "646"]
HOLD_LINE = "+1 (888) 410-7700"
PAGES = ["/", "/offers", "/account", "/products/shoes", "/products/coats", "/stores", "/trips"]
CATEGORIES = {"shoes": 8900, "coats": 15900, "groceries": 2400, "books": 1800, "toys": 3100}
REASONS = [
    "points balance",
    "missing points",
    "complaint",
    "address change",
    "order status",
    "cancel",
]
NOW = datetime(2026, 11, 1, tzinfo=UTC)

# What till staff type when a customer will not give an e-mail: two retailers' habits. Some
# are obvious to any pattern, some only the data shows (many people behind one value).
TILL_PLACEHOLDERS = {
    "common": [
        "noemail@example.com",
        "none@none.com",
        "na@na.com",
        "x@x.com",
        "test@test.com",
        "no@email.com",
        "noemail@noemail.com",
    ],
    "local": [
        "nomail@nomail.com",
        "n.a@na.org",
        "xx@xx.com",
        "asdf@asdf.com",
        "no.email@gmail.com",
        "a@a.com",
        "none@example.org",
        "guest.shopper@walnutmall.com",
    ],
}
# The store's own address, typed for a customer who has none: one per store.
STORE_EMAIL = "store{store:03d}@shopmail.com"
PHONE_PLACEHOLDERS = [
    "0000000000",
    "(000) 000-0000",
    "999-999-9999",
    "1234567890",
    "5555555555",
    "111.111.1111",
]
# Short forms a clerk or a customer writes instead of the full first name.
NICKNAMES = {
    "William": "Bill",
    "Robert": "Bob",
    "Richard": "Rick",
    "James": "Jim",
    "Elizabeth": "Liz",
    "Katherine": "Kate",
    "Michael": "Mike",
    "Joseph": "Joe",
    "Thomas": "Tom",
    "Charles": "Charlie",
    "Jennifer": "Jenny",
    "Patricia": "Pat",
    "Margaret": "Peggy",
    "Anthony": "Tony",
    "Steven": "Steve",
    "Kimberly": "Kim",
    "Rebecca": "Becky",
    "Deborah": "Debbie",
    "Christopher": "Chris",
    "Nicholas": "Nick",
    "Jonathan": "Jon",
    "Benjamin": "Ben",
    "Samantha": "Sam",
    "Alexander": "Alex",
    "Victoria": "Vicky",
    "Jacqueline": "Jackie",
    "Abigail": "Abby",
    "Lawrence": "Larry",
    "Gregory": "Greg",
    "Timothy": "Tim",
    "Edward": "Ed",
    "Daniel": "Dan",
    "Matthew": "Matt",
    "Andrew": "Andy",
    "Kenneth": "Ken",
    "Raymond": "Ray",
    "Douglas": "Doug",
    "Zachary": "Zach",
}
ACCENTS = {"e": "é", "a": "á", "o": "ö", "i": "í", "u": "ü", "n": "ñ", "c": "ç"}
KEYBOARD = {
    "a": "sq", "b": "vn", "c": "xv", "d": "sf", "e": "wr", "f": "dg", "g": "fh", "h": "gj",
    "i": "uo", "j": "hk", "k": "jl", "l": "k", "m": "n", "n": "bm", "o": "ip", "p": "o",
    "q": "w", "r": "et", "s": "ad", "t": "ry", "u": "yi", "v": "cb", "w": "qe", "x": "zc",
    "y": "tu", "z": "x",
}  # fmt: skip
