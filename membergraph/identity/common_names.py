"""Common first and family names: what an e-mail address's words are read against when
they name no one of the contact carrying it (``[near_duplicates] first_names`` and
``family_names`` in the rules file).

People's addresses name them, and a parent's address on a young adult's contact names the
parent: ``priya401@`` on Jessica Zhang's, ``miguelsanchez@`` on Emily Walker's,
``nhernandez@`` on Barbara Bennett's. The nicknames list names few people; these are the
given names and surnames most often met in North American customer files (English,
Spanish, French and Asian ones), folded (lower case, no accents).
"""

from __future__ import annotations

__all__ = ["FAMILY_NAMES", "FIRST_NAMES"]

# fmt: off

FIRST_NAMES: tuple[str, ...] = (
    "aaron", "adam", "adrian", "adriana", "aiden", "alain", "alan", "albert", "alberto",
    "alejandra", "alejandro", "alex", "alexandra", "alexis", "alice", "alicia", "allison",
    "alyssa", "amanda", "amelia", "amit", "amy", "ana", "andre", "andrea", "andres",
    "angela", "angelica", "anh", "anil", "anita", "anjali", "anna", "anne", "annie",
    "antonio", "arjun", "arthur", "arturo", "ashley", "austin", "ava", "barbara",
    "beatriz", "benjamin", "beth", "betty", "beverly", "bianca", "blake", "bonnie", "brad",
    "bradley", "brandon", "brenda", "brian", "brittany", "brooke", "bruce", "bryan",
    "caleb", "cameron", "camila", "camille", "carl", "carla", "carlos", "carmen", "carol",
    "caroline", "carolyn", "carter", "catherine", "cesar", "chantal", "charlotte",
    "chelsea", "cheryl", "chloe", "christian", "christina", "christine", "christopher",
    "claire", "clara", "claude", "claudia", "courtney", "craig", "cynthia", "dana",
    "daniel", "daniela", "danielle", "david", "dean", "debra", "deepak", "denis", "denise",
    "dennis", "derek", "diana", "diane", "diego", "dominic", "donna", "doris", "dorothy",
    "dylan", "edgar", "edna", "eduardo", "edward", "elena", "elijah", "elizabeth",
    "emilie", "emilio", "emily", "emma", "enrique", "eric", "erica", "erin", "esther",
    "ethan", "etienne", "eugene", "eva", "evan", "evelyn", "felix", "fernanda", "fernando",
    "fiona", "florence", "frances", "francisco", "francois", "frank", "fred", "gabriel",
    "gabriela", "gail", "gary", "genevieve", "george", "gerald", "gladys", "gloria",
    "gregory", "guillaume", "hailey", "hannah", "hao", "harold", "harper", "harry",
    "heather", "hector", "heidi", "helen", "helene", "henry", "hiroshi", "holly", "hugo",
    "hui", "hung", "hyun", "ian", "irene", "isaac", "isabel", "isabella", "isabelle",
    "ivan", "jack", "jackson", "jacob", "jacques", "jake", "james", "jamie", "jane",
    "janet", "janice", "jasmine", "jason", "javier", "jean", "jeffrey", "jennifer",
    "jeremy", "jerry", "jesse", "jessica", "jesus", "jill", "jin", "jing", "joan",
    "joanne", "joaquin", "joe", "joel", "john", "johnny", "jonathan", "jordan", "jorge",
    "jose", "josee", "joseph", "joshua", "joyce", "juan", "judith", "judy", "julia",
    "julian", "julie", "julien", "julio", "jun", "justin", "karen", "karina", "katherine",
    "kathleen", "kayla", "keith", "kelly", "kelsey", "kenji", "kenneth", "kevin", "kim",
    "kristen", "kristin", "kyle", "larry", "laura", "lauren", "lea", "leah", "leo",
    "leonardo", "liam", "lillian", "lily", "lin", "linda", "lindsay", "linh", "lisa",
    "logan", "lori", "louis", "luc", "lucas", "lucia", "luis", "luke", "lydia", "madison",
    "manon", "manuel", "marc", "marco", "margaret", "maria", "mariana", "marie", "marilyn",
    "mario", "marion", "mark", "martha", "martin", "martine", "mary", "mason", "mateo",
    "mathieu", "matias", "matthew", "maya", "megan", "mei", "melanie", "melissa", "mia",
    "michael", "michel", "michelle", "miguel", "mildred", "ming", "minh", "molly",
    "monica", "nancy", "natalie", "nathalie", "nathan", "neha", "nicholas", "nicolas",
    "nicole", "noah", "nora", "norma", "olivia", "olivier", "oscar", "pablo", "pamela",
    "paola", "patricia", "patrick", "paul", "paula", "pauline", "pedro", "peter", "philip",
    "philippe", "phillip", "pierre", "pooja", "priya", "rachel", "rafael", "raj", "ralph",
    "ramon", "randy", "raul", "ravi", "raymond", "rebecca", "ricardo", "richard", "rita",
    "robert", "roberto", "rodrigo", "roger", "rohan", "ronald", "rosa", "ruben", "russell",
    "ruth", "ryan", "sally", "samantha", "samuel", "sandra", "sanjay", "santiago", "sara",
    "sarah", "scott", "sean", "sebastian", "sergio", "shannon", "sharon", "shirley",
    "silvia", "simon", "sofia", "sophia", "sophie", "stacy", "stephanie", "steven",
    "sunil", "susan", "sylvie", "tammy", "teresa", "terry", "thanh", "theresa", "thomas",
    "tiffany", "timothy", "tina", "todd", "tracy", "tuan", "tyler", "valeria", "valerie",
    "vanessa", "veronica", "victor", "victoria", "vikram", "vincent", "virginia", "walter",
    "wayne", "wei", "wendy", "william", "willie", "xavier", "ximena", "xin", "yan",
    "yolanda", "yuki", "yves", "zachary", "zoe",
)

FAMILY_NAMES: tuple[str, ...] = (
    "adams", "ahmed", "ali", "allen", "alvarez", "anderson", "bailey", "baker", "barnes",
    "beaulieu", "belanger", "bell", "bennett", "bergeron", "bouchard", "boucher", "brooks",
    "brown", "bryant", "butler", "campbell", "caron", "carter", "castillo", "castro",
    "chavez", "chen", "clark", "cloutier", "cole", "coleman", "collins", "cook", "cooper",
    "cote", "cox", "cruz", "davis", "diaz", "dion", "dubois", "edwards", "evans", "fisher",
    "flores", "fortin", "foster", "fournier", "gagne", "gagnon", "gao", "garcia",
    "gauthier", "girard", "gomez", "gonzales", "gonzalez", "graham", "gray", "green",
    "griffin", "guo", "gupta", "gutierrez", "hall", "hamilton", "harris", "hassan",
    "hayes", "he", "henderson", "hernandez", "herrera", "hill", "howard", "hu", "huang",
    "hughes", "jackson", "james", "jenkins", "jimenez", "johnson", "jones", "jordan",
    "kelly", "khan", "kim", "king", "kumar", "lambert", "lapointe", "lavoie", "le",
    "leblanc", "lee", "lefebvre", "levesque", "lewis", "li", "lin", "liu", "long", "lopez",
    "luo", "ma", "martel", "martin", "martinez", "medina", "mendoza", "mercier", "miller",
    "mitchell", "moore", "morales", "moreno", "morgan", "morin", "morris", "murphy",
    "myers", "nelson", "nguyen", "ortiz", "ouellet", "parker", "patel", "patterson",
    "pelletier", "perez", "perry", "peterson", "pham", "phillips", "poirier", "powell",
    "price", "ramirez", "ramos", "reed", "reyes", "reynolds", "richardson", "rivera",
    "roberts", "robinson", "rodriguez", "rogers", "romero", "ross", "rousseau", "roy",
    "ruiz", "russell", "sanchez", "sanders", "scott", "shah", "sharma", "simard",
    "simmons", "singh", "smith", "stewart", "sullivan", "sun", "taylor", "thomas",
    "thompson", "torres", "tran", "tremblay", "turner", "vasquez", "walker", "wallace",
    "wang", "ward", "watson", "west", "white", "williams", "wilson", "wood", "wright",
    "wu", "xu", "young", "zhang", "zhao", "zhou", "zhu",
)
# fmt: on
