"""Vocabulary of the independent generator: names, nicknames, streets, e-mail domains.

Written from general knowledge of North American retail customer files, not from the
engine's code or its demo generator. Weights make common names common, so that distinct
people share names (the hazard every name-based matcher faces in a real customer file).
"""

from __future__ import annotations

# (name, sex, weight, culture). Culture decides accents and surname habits.
FIRST_NAMES: list[tuple[str, str, int, str]] = [
    ("James", "M", 30, "en"), ("Robert", "M", 28, "en"), ("John", "M", 30, "en"),
    ("Michael", "M", 30, "en"), ("William", "M", 22, "en"), ("David", "M", 26, "en"),
    ("Richard", "M", 14, "en"), ("Joseph", "M", 14, "en"), ("Thomas", "M", 14, "en"),
    ("Christopher", "M", 16, "en"), ("Daniel", "M", 16, "en"), ("Matthew", "M", 14, "en"),
    ("Anthony", "M", 12, "en"), ("Steven", "M", 10, "en"), ("Andrew", "M", 10, "en"),
    ("Joshua", "M", 9, "en"), ("Kenneth", "M", 7, "en"), ("Edward", "M", 6, "en"),
    ("Timothy", "M", 6, "en"), ("Benjamin", "M", 7, "en"), ("Samuel", "M", 6, "en"),
    ("Gregory", "M", 5, "en"), ("Patrick", "M", 6, "en"), ("Alexander", "M", 7, "en"),
    ("Nicholas", "M", 6, "en"), ("Jonathan", "M", 6, "en"), ("Zachary", "M", 4, "en"),
    ("Tyler", "M", 4, "en"), ("Ethan", "M", 4, "en"), ("Dwayne", "M", 2, "en"),
    ("Mary", "F", 24, "en"), ("Patricia", "F", 16, "en"), ("Jennifer", "F", 22, "en"),
    ("Linda", "F", 14, "en"), ("Elizabeth", "F", 18, "en"), ("Barbara", "F", 12, "en"),
    ("Susan", "F", 12, "en"), ("Jessica", "F", 14, "en"), ("Sarah", "F", 16, "en"),
    ("Karen", "F", 10, "en"), ("Lisa", "F", 10, "en"), ("Nancy", "F", 8, "en"),
    ("Margaret", "F", 8, "en"), ("Sandra", "F", 7, "en"), ("Ashley", "F", 9, "en"),
    ("Kimberly", "F", 8, "en"), ("Emily", "F", 10, "en"), ("Donna", "F", 6, "en"),
    ("Michelle", "F", 8, "en"), ("Katherine", "F", 9, "en"), ("Deborah", "F", 5, "en"),
    ("Rebecca", "F", 6, "en"), ("Stephanie", "F", 6, "en"), ("Victoria", "F", 5, "en"),
    ("Christine", "F", 5, "en"), ("Samantha", "F", 5, "en"), ("Abigail", "F", 3, "en"),
    ("Alexandra", "F", 4, "en"), ("Megan", "F", 5, "en"), ("Tiffany", "F", 3, "en"),
    ("Zoë", "F", 2, "en"), ("Chloé", "F", 2, "fr"),
    ("José", "M", 12, "es"), ("Juan", "M", 10, "es"), ("Luis", "M", 8, "es"),
    ("Carlos", "M", 9, "es"), ("Jesús", "M", 5, "es"), ("Miguel", "M", 7, "es"),
    ("Alejandro", "M", 5, "es"), ("Francisco", "M", 6, "es"), ("Andrés", "M", 3, "es"),
    ("Raúl", "M", 3, "es"), ("María", "F", 14, "es"), ("Guadalupe", "F", 5, "es"),
    ("Ana", "F", 7, "es"), ("Sofía", "F", 5, "es"), ("Verónica", "F", 4, "es"),
    ("Lucía", "F", 3, "es"), ("Rosa", "F", 5, "es"), ("Mónica", "F", 3, "es"),
    ("Jean-François", "M", 4, "fr"), ("François", "M", 4, "fr"), ("Stéphane", "M", 3, "fr"),
    ("Benoît", "M", 2, "fr"), ("Luc", "M", 3, "fr"), ("Mathieu", "M", 3, "fr"),
    ("Hélène", "F", 3, "fr"), ("Geneviève", "F", 3, "fr"), ("Mélanie", "F", 3, "fr"),
    ("Isabelle", "F", 4, "fr"), ("Nathalie", "F", 4, "fr"), ("Marie-Ève", "F", 3, "fr"),
    ("Wei", "M", 4, "zh"), ("Jun", "M", 3, "zh"), ("Li", "F", 3, "zh"), ("Mei", "F", 3, "zh"),
    ("Priya", "F", 4, "in"), ("Rahul", "M", 4, "in"), ("Anil", "M", 3, "in"),
    ("Sunita", "F", 3, "in"), ("Nguyen", "M", 2, "vi"), ("Thi", "F", 2, "vi"),
    ("Oluwaseun", "M", 1, "ng"), ("Chidinma", "F", 1, "ng"), ("Siobhán", "F", 2, "en"),
    ("Seán", "M", 2, "en"),
]

# Nicknames people give at a till, or that an older record keeps.
NICKNAMES: dict[str, list[str]] = {
    "Robert": ["Bob", "Rob", "Bobby"], "William": ["Bill", "Will", "Billy"],
    "James": ["Jim", "Jimmy", "Jamie"], "John": ["Jack", "Johnny"],
    "Michael": ["Mike", "Mikey"], "Richard": ["Rick", "Dick", "Rich"],
    "Joseph": ["Joe", "Joey"], "Thomas": ["Tom", "Tommy"], "Christopher": ["Chris"],
    "Daniel": ["Dan", "Danny"], "Matthew": ["Matt"], "Anthony": ["Tony"],
    "Steven": ["Steve"], "Andrew": ["Andy", "Drew"], "Joshua": ["Josh"],
    "Kenneth": ["Ken", "Kenny"], "Edward": ["Ed", "Eddie", "Ted"], "Timothy": ["Tim"],
    "Benjamin": ["Ben"], "Samuel": ["Sam"], "Gregory": ["Greg"], "Patrick": ["Pat"],
    "Alexander": ["Alex", "Xander"], "Nicholas": ["Nick"], "Jonathan": ["Jon"],
    "Zachary": ["Zach"], "Elizabeth": ["Liz", "Beth", "Betty", "Eliza"],
    "Patricia": ["Pat", "Patty", "Trish"], "Jennifer": ["Jen", "Jenny"],
    "Margaret": ["Maggie", "Peggy", "Meg"], "Katherine": ["Kate", "Kathy", "Katie"],
    "Deborah": ["Debbie", "Deb"], "Rebecca": ["Becky"], "Stephanie": ["Steph"],
    "Victoria": ["Vicky", "Tori"], "Christine": ["Chris", "Chrissy"],
    "Samantha": ["Sam"], "Abigail": ["Abby"], "Alexandra": ["Alex", "Sandra"],
    "Kimberly": ["Kim"], "Barbara": ["Barb"], "Susan": ["Sue", "Susie"],
    "Jessica": ["Jess"], "Sandra": ["Sandy"], "Michelle": ["Shelly"],
    "Francisco": ["Paco", "Pancho"], "José": ["Pepe"], "Guadalupe": ["Lupe"],
    "Jesús": ["Chuy"], "Alejandro": ["Alex"], "Jean-François": ["JF"],
}

# (surname, weight, culture)
LAST_NAMES: list[tuple[str, int, str]] = [
    ("Smith", 40, "en"), ("Johnson", 30, "en"), ("Williams", 26, "en"), ("Brown", 26, "en"),
    ("Jones", 24, "en"), ("Miller", 20, "en"), ("Davis", 18, "en"), ("Wilson", 14, "en"),
    ("Anderson", 12, "en"), ("Taylor", 12, "en"), ("Thomas", 10, "en"), ("Moore", 10, "en"),
    ("Jackson", 10, "en"), ("Martin", 12, "en"), ("Lee", 14, "en"), ("Thompson", 9, "en"),
    ("White", 9, "en"), ("Harris", 8, "en"), ("Clark", 8, "en"), ("Lewis", 7, "en"),
    ("Robinson", 7, "en"), ("Walker", 7, "en"), ("Young", 6, "en"), ("Allen", 6, "en"),
    ("King", 6, "en"), ("Wright", 6, "en"), ("Scott", 5, "en"), ("Hill", 5, "en"),
    ("Green", 5, "en"), ("Adams", 5, "en"), ("Baker", 5, "en"), ("Nelson", 5, "en"),
    ("Carter", 5, "en"), ("Mitchell", 5, "en"), ("Roberts", 5, "en"), ("Campbell", 4, "en"),
    ("Parker", 4, "en"), ("Evans", 4, "en"), ("Edwards", 4, "en"), ("Collins", 4, "en"),
    ("Stewart", 4, "en"), ("Morris", 4, "en"), ("Murphy", 4, "en"), ("Cook", 4, "en"),
    ("Rogers", 4, "en"), ("Morgan", 3, "en"), ("Cooper", 3, "en"), ("Peterson", 3, "en"),
    ("Reed", 3, "en"), ("Bailey", 3, "en"), ("Kelly", 3, "en"), ("Howard", 3, "en"),
    ("Ward", 3, "en"), ("Cox", 3, "en"), ("Richardson", 3, "en"), ("Wood", 3, "en"),
    ("Watson", 3, "en"), ("Brooks", 3, "en"), ("Bennett", 3, "en"), ("Gray", 3, "en"),
    ("James", 3, "en"), ("Hughes", 3, "en"), ("Price", 3, "en"), ("Sanders", 3, "en"),
    ("Myers", 3, "en"), ("Long", 3, "en"), ("Ross", 3, "en"), ("Foster", 3, "en"),
    ("O'Brien", 4, "en"), ("O'Connor", 3, "en"), ("McDonald", 4, "en"), ("MacKenzie", 2, "en"),
    ("Van der Berg", 1, "en"), ("St. Pierre", 2, "fr"), ("D'Amico", 2, "en"),
    ("Kowalski", 2, "en"), ("Schmidt", 2, "en"), ("Müller", 2, "en"), ("Fischer", 2, "en"),
    ("Garcia", 20, "es"), ("Rodriguez", 16, "es"), ("Martinez", 16, "es"),
    ("Hernández", 14, "es"), ("López", 12, "es"), ("González", 12, "es"), ("Pérez", 8, "es"),
    ("Sánchez", 8, "es"), ("Ramírez", 7, "es"), ("Torres", 6, "es"), ("Flores", 6, "es"),
    ("Rivera", 6, "es"), ("Gómez", 5, "es"), ("Díaz", 5, "es"), ("Cruz", 4, "es"),
    ("Morales", 4, "es"), ("Ortiz", 3, "es"), ("Gutiérrez", 3, "es"), ("Chávez", 3, "es"),
    ("Peña", 2, "es"), ("Ibáñez", 1, "es"),
    ("Tremblay", 6, "fr"), ("Gagnon", 5, "fr"), ("Roy", 4, "fr"), ("Côté", 4, "fr"),
    ("Bouchard", 3, "fr"), ("Gauthier", 3, "fr"), ("Bélanger", 3, "fr"), ("Lévesque", 2, "fr"),
    ("Lefèbvre", 2, "fr"), ("Béliveau", 1, "fr"),
    ("Nguyen", 10, "vi"), ("Tran", 5, "vi"), ("Pham", 3, "vi"),
    ("Wang", 6, "zh"), ("Li", 5, "zh"), ("Zhang", 5, "zh"), ("Chen", 6, "zh"), ("Liu", 4, "zh"),
    ("Patel", 10, "in"), ("Singh", 6, "in"), ("Shah", 4, "in"), ("Kumar", 4, "in"),
    ("Okafor", 1, "ng"), ("Adeyemi", 1, "ng"),
]

STREETS = [
    "Main", "Oak", "Maple", "Cedar", "Elm", "Pine", "Washington", "Lake", "Hill", "Park",
    "Sunset", "Lincoln", "Church", "Jackson", "Highland", "Willow", "Ridge", "Meadow",
    "Spring", "Chestnut", "Birch", "River", "Forest", "Walnut", "Jefferson", "Adams",
    "Madison", "Franklin", "Center", "Mill", "Valley", "Bay", "Harbor", "King", "Queen",
    "Dundas", "Bloor", "Yonge", "Sherbrooke", "Saint-Denis", "Granville", "Robson",
]
STREET_KINDS = [("Street", "St"), ("Avenue", "Ave"), ("Road", "Rd"), ("Drive", "Dr"),
                ("Boulevard", "Blvd"), ("Lane", "Ln"), ("Court", "Ct"), ("Place", "Pl")]

# (city, region, country, postal kind, area codes)
CITIES = [
    ("Columbus", "OH", "US", "zip", ["614", "380"]),
    ("Cleveland", "OH", "US", "zip", ["216", "440"]),
    ("Pittsburgh", "PA", "US", "zip", ["412", "724"]),
    ("Buffalo", "NY", "US", "zip", ["716"]),
    ("Detroit", "MI", "US", "zip", ["313", "248", "734"]),
    ("Chicago", "IL", "US", "zip", ["312", "773", "872"]),
    ("Indianapolis", "IN", "US", "zip", ["317"]),
    ("Toronto", "ON", "CA", "ca", ["416", "647", "437"]),
    ("Mississauga", "ON", "CA", "ca", ["905", "289"]),
    ("Montréal", "QC", "CA", "ca", ["514", "438"]),
    ("Laval", "QC", "CA", "ca", ["450"]),
    ("Ottawa", "ON", "CA", "ca", ["613", "343"]),
]

PERSONAL_DOMAINS = [
    ("gmail.com", 40), ("yahoo.com", 12), ("hotmail.com", 10), ("outlook.com", 7),
    ("icloud.com", 8), ("aol.com", 4), ("comcast.net", 3), ("sbcglobal.net", 2),
    ("live.ca", 2), ("sympatico.ca", 2), ("videotron.ca", 2), ("rogers.com", 2),
    ("protonmail.com", 1), ("msn.com", 1), ("yahoo.ca", 2), ("hotmail.fr", 1),
]
WORK_DOMAINS = [
    "acme-logistics.com", "cityofcolumbus.gov", "tdsb.on.ca", "clevelandclinic.org",
    "gm.com", "rbc.com", "bell.ca", "ohiohealth.com", "upmc.edu", "desjardins.com",
    "kroger-partners.com", "ford.com", "sunlife.com", "mcgill.ca", "osu.edu",
]
DOMAIN_TYPOS = {
    "gmail.com": ["gmial.com", "gmail.con", "gmai.com", "gnail.com"],
    "yahoo.com": ["yaho.com", "yahoo.co", "yahooo.com"],
    "hotmail.com": ["hotmial.com", "hotmail.co", "hotmal.com"],
    "outlook.com": ["outlok.com", "outloo.com"],
    "icloud.com": ["iclod.com", "icloud.co"],
}

# What clerks type at a till when a customer will not give an e-mail or phone. Each store has
# its own habit. Deliberately a mix of obvious junk and values that look like real addresses.
TILL_EMAIL_HABITS = [
    "declined@gmail.com", "nothanks@yahoo.com", "noemailgiven@outlook.com",
    "customer.declined@hotmail.com", "zzz@zzz.zzz", "qwerty@qwerty.com", "no.mail@gmail.com",
    "refused@refused.ca", "x@x.xx", "pasdecourriel@videotron.ca", "sinemail@gmail.com",
    "asdfgh@gmail.com", "1@1.com", "none@gmail.com", "nomail@northfield.com",
]
TILL_PHONE_HABITS = [
    "000-000-0000", "111-111-1111", "123-456-7890", "999-999-9999", "(555) 555-5555",
    "555-1212", "0", "n/a",
]
TILL_NAME_HABITS = [("Guest", "Customer"), ("Cash", "Customer"), ("Valued", "Customer"),
                    ("Walk", "In"), ("X", "X"), ("Client", "Comptoir")]
BIRTH_PLACEHOLDERS = ["1900-01-01", "1901-01-01", "1970-01-01", "1911-11-11"]

CATEGORIES = {
    "grocery": (150, 1800), "produce": (99, 899), "dairy": (199, 799), "bakery": (250, 1200),
    "household": (299, 2499), "pharmacy": (499, 3999), "home": (999, 14999),
    "apparel": (1499, 8999), "electronics": (1999, 49999), "toys": (799, 5999),
    "garden": (599, 12999), "pet": (399, 6999),
}

CALL_REASONS = [
    "points_missing", "card_lost", "order_status", "refund", "complaint", "update_address",
    "update_email", "unsubscribe", "product_question", "store_hours", "delivery_late",
    "merge_accounts", "password_reset",
]
