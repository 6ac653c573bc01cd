"""Word lists for the demo generator: names, places, companies, web pages, campaigns.

Every string here ends up in CSV cells and in JSON string literals that the generator writes
without an encoder, so none of them may contain a double quote, a backslash or a newline
(the tests check this).
"""

from __future__ import annotations

COUNTRIES = ("US", "GB", "DE", "FR")
COUNTRY_WEIGHTS = (0.55, 0.20, 0.15, 0.10)
CALLING_CODES = ("1", "44", "49", "33")
LOCALES = (("en-US",), ("en-GB", "en-US"), ("de-DE", "en-US"), ("fr-FR", "en-US"))

# How people type the country into a CRM form: (label, weight).
COUNTRY_LABELS = (
    (("United States", 0.70), ("USA", 0.15), ("US", 0.10), ("United States of America", 0.05)),
    (("United Kingdom", 0.70), ("UK", 0.20), ("England", 0.07), ("GB", 0.03)),
    (("Germany", 0.80), ("Deutschland", 0.15), ("DE", 0.05)),
    (("France", 0.95), ("FR", 0.05)),
)

# (city, state/region, postcode generator key)
CITIES = (
    (("San Francisco", "CA", "941"), ("New York", "NY", "100"), ("Chicago", "IL", "606"),
     ("Boston", "MA", "021"), ("Seattle", "WA", "981"), ("Austin", "TX", "787"),
     ("Denver", "CO", "802"), ("Atlanta", "GA", "303"), ("Miami", "FL", "331"),
     ("Los Angeles", "CA", "900")),
    (("London", "England", "EC"), ("London", "", "SW"), ("Manchester", "England", "M"),
     ("Birmingham", "", "B"), ("Leeds", "England", "LS"), ("Edinburgh", "Scotland", "EH"),
     ("Bristol", "", "BS")),
    (("Berlin", "Berlin", "10"), ("München", "Bayern", "80"), ("Hamburg", "Hamburg", "20"),
     ("Frankfurt am Main", "Hessen", "60"), ("Köln", "Nordrhein-Westfalen", "50"),
     ("Stuttgart", "Baden-Württemberg", "70")),
    (("Paris", "Île-de-France", "750"), ("Lyon", "Auvergne-Rhône-Alpes", "690"),
     ("Marseille", "Provence-Alpes-Côte d'Azur", "130"), ("Toulouse", "Occitanie", "310"),
     ("Bordeaux", "Nouvelle-Aquitaine", "330"), ("Lille", "Hauts-de-France", "590")),
)

STREETS = (
    ("Main St", "Market St", "Oak Ave", "2nd Ave", "Broadway", "Pine St", "Maple Ave",
     "Mission St", "Elm St", "Lake St", "Cedar Rd", "Washington Blvd"),
    ("High Street", "Station Road", "Church Lane", "King's Road", "Victoria Street",
     "Park Road", "Mill Lane", "Queen Street", "The Green", "London Road"),
    ("Hauptstraße", "Bahnhofstraße", "Schulstraße", "Gartenstraße", "Friedrichstraße",
     "Lindenallee", "Bergstraße", "Kirchweg", "Goethestraße", "Am Markt"),
    ("rue de la Paix", "avenue Victor Hugo", "boulevard Haussmann", "rue du Commerce",
     "place de la République", "rue Nationale", "avenue Jean Jaurès", "rue des Lilas",
     "quai de la Loire", "rue Pasteur"),
)

FIRST_NAMES = (
    ("James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William",
     "Elizabeth", "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
     "Charles", "Karen", "Christopher", "Nancy", "Daniel", "Lisa", "Matthew", "Betty", "Anthony",
     "Margaret", "Mark", "Sandra", "Donald", "Ashley", "Steven", "Kimberly", "Paul", "Emily",
     "Andrew", "Donna", "Joshua", "Michelle", "Kenneth", "Carol", "Kevin", "Amanda", "Brian",
     "Melissa", "George", "Deborah", "Timothy", "Stephanie", "Ronald", "Rebecca", "Jason",
     "Laura", "Edward", "Sharon", "Jeffrey", "Cynthia", "Ryan", "Kathleen", "Jacob", "Amy",
     "Gary", "Angela", "Nicholas", "Shirley", "Eric", "Anna", "Jonathan", "Brenda", "Stephen",
     "Pamela", "Larry", "Emma", "Justin", "Nicole", "Scott", "Helen", "Brandon", "Samantha",
     "Benjamin", "Katherine", "Samuel", "Christine", "Gregory", "Debra", "Alexander", "Rachel",
     "Frank", "Carolyn", "Patrick", "Janet", "Raymond", "Catherine", "Jack", "Maria", "Dennis",
     "Heather", "Jerry", "Diane", "Tyler", "Ruth", "Aaron", "Julie", "Jose", "Olivia", "Adam",
     "Joyce", "Nathan", "Virginia", "Henry", "Victoria", "Douglas", "Kelly", "Zachary",
     "Lauren", "Peter", "Christina", "Kyle", "Megan", "Ethan", "Andrea", "Noah", "Hannah",
     "Priya", "Wei", "Mohammed", "Aisha", "Carlos", "Sofia", "Diego", "Mei", "Jamal", "Keisha"),
    ("Oliver", "George", "Harry", "Jack", "Charlie", "Amelia", "Olivia", "Isla", "Emily", "Poppy",
     "Ava", "Isabella", "Jessica", "Lily", "Sophie", "Alfie", "Freddie", "Archie", "Theo",
     "Oscar", "Alistair", "Fiona", "Hamish", "Siobhan", "Niamh", "Rhys", "Gareth", "Dylan",
     "Megan", "Chloe", "Eleanor", "Harriet", "Imogen", "Rupert", "Nigel", "Graham", "Ian",
     "Colin", "Trevor", "Gillian", "Lesley", "Pauline", "Wendy", "Callum", "Ewan", "Kirsty",
     "Lewis", "Liam", "Ruby", "Daisy", "James", "David", "Sarah", "Claire", "Helen", "Simon",
     "Andrew", "Richard", "Paul", "Mark", "Rachel", "Emma", "Laura", "Rebecca", "Stuart",
     "Neil", "Gemma", "Hayley", "Jade", "Zoe", "Mohammed", "Aaliyah", "Priya", "Arjun",
     "Catriona", "Bronwen", "Dafydd", "Eilidh", "Ciaran", "Aoife"),
    ("Lukas", "Leon", "Finn", "Jonas", "Paul", "Felix", "Maximilian", "Elias", "Ben", "Noah",
     "Luis", "Tim", "Jan", "Niklas", "Tobias", "Florian", "Sebastian", "Stefan", "Michael",
     "Thomas", "Andreas", "Markus", "Matthias", "Jürgen", "Klaus", "Uwe", "Wolfgang", "Dieter",
     "Günter", "Jörg", "Sören", "Björn", "Mia", "Emma", "Hannah", "Sophia", "Lea", "Lena",
     "Anna", "Marie", "Laura", "Julia", "Sarah", "Katharina", "Johanna", "Sabine", "Petra",
     "Ursula", "Monika", "Claudia", "Birgit", "Anja", "Susanne", "Stefanie", "Nicole", "Jana",
     "Franziska", "Greta", "Käthe", "Lisa", "Sandra", "Christina", "Melanie", "Heike", "Karin",
     "Ute", "Kerstin", "Dörte", "Maren", "Frauke", "Annika", "Svenja", "Tanja", "Nadine",
     "Simone", "Mehmet", "Ayşe", "Can", "Elif", "Hans-Peter", "Karl-Heinz"),
    ("Jean", "Pierre", "Michel", "André", "Philippe", "Alain", "Jacques", "Bernard", "François",
     "Nicolas", "Christophe", "Stéphane", "Laurent", "Julien", "Sébastien", "Thomas", "Antoine",
     "Mathieu", "Guillaume", "Olivier", "Hugo", "Louis", "Lucas", "Gabriel", "Arthur", "Raphaël",
     "Léo", "Théo", "Jean-Luc", "Jean-Pierre", "Marie", "Nathalie", "Isabelle", "Sylvie",
     "Catherine", "Françoise", "Valérie", "Sandrine", "Christine", "Céline", "Aurélie", "Émilie",
     "Camille", "Chloé", "Manon", "Léa", "Inès", "Juliette", "Louise", "Jade", "Élodie",
     "Hélène", "Anne", "Sophie", "Claire", "Marion", "Pauline", "Margaux", "Agnès", "Brigitte",
     "Anaïs", "Océane", "Mathilde", "Amélie", "Cécile", "Geneviève", "Marie-Claire",
     "Anne-Sophie", "Karim", "Yasmine", "Mehdi", "Fatima"),
)

LAST_NAMES = (
    ("Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
     "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
     "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
     "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
     "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall",
     "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Gomez", "Phillips", "Evans",
     "Turner", "Diaz", "Parker", "Cruz", "Edwards", "Collins", "Reyes", "Stewart", "Morris",
     "Morales", "Murphy", "Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan", "Cooper", "Peterson",
     "Bailey", "Reed", "Kelly", "Howard", "Ramos", "Kim", "Cox", "Ward", "Richardson", "Watson",
     "Brooks", "Chavez", "Wood", "James", "Bennett", "Gray", "Mendoza", "Ruiz", "Hughes",
     "Price", "Alvarez", "Castillo", "Sanders", "Patel", "Myers", "Long", "Ross", "Foster",
     "Jimenez", "Chen", "Wang", "Singh", "Kowalski", "O'Neill", "McCarthy", "Nakamura",
     "Okafor", "Schwartz", "Goldberg", "Rossi", "Olsen", "Van Dyke", "DeLuca"),
    ("Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas",
     "Johnson", "Roberts", "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards",
     "Hughes", "Green", "Hall", "Lewis", "Harris", "Clarke", "Patel", "Jackson", "Wood",
     "Turner", "Martin", "Cooper", "Hill", "Ward", "Morris", "Moore", "Clark", "Lee", "King",
     "Baker", "Harrison", "Morgan", "Allen", "James", "Scott", "Phillips", "Watson", "Davis",
     "Parker", "Price", "Bennett", "Young", "Griffiths", "Mitchell", "Kelly", "Cook", "Carter",
     "Richardson", "Bailey", "Collins", "Bell", "Shaw", "Murphy", "Miller", "Cox", "Richards",
     "Khan", "Marshall", "Anderson", "Simpson", "Ellis", "Adams", "Singh", "Begum", "Wilkinson",
     "Foster", "Chapman", "Powell", "Webb", "Rogers", "Gray", "Mason", "Ali", "Hunt", "Hussain",
     "Campbell", "Matthews", "Owen", "Palmer", "Holmes", "Mills", "Barnes", "Knight", "Lloyd",
     "Butler", "Russell", "Barker", "Fisher", "Stevens", "Jenkins", "Murray", "Dixon", "Harvey",
     "O'Brien", "O'Connor", "McDonald", "MacLeod", "Fraser", "Reid", "Ross-Jones"),
    ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
     "Schulz", "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder",
     "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann", "Hartmann", "Lange",
     "Schmitt", "Werner", "Schmitz", "Krause", "Meier", "Lehmann", "Schmid", "Schulze", "Maier",
     "Köhler", "Herrmann", "König", "Walter", "Mayer", "Huber", "Kaiser", "Fuchs", "Peters",
     "Lang", "Scholz", "Möller", "Weiß", "Jung", "Hahn", "Schubert", "Vogel", "Friedrich",
     "Keller", "Günther", "Frank", "Berger", "Winkler", "Roth", "Beck", "Lorenz", "Baumann",
     "Franke", "Albrecht", "Schuster", "Simon", "Ludwig", "Böhm", "Winter", "Kraus", "Martin",
     "Schumacher", "Krämer", "Vogt", "Stein", "Jäger", "Otto", "Sommer", "Groß", "Seidel",
     "Heinrich", "Brandt", "Haas", "Schreiber", "Graf", "Schulte", "Dietrich", "Ziegler", "Kuhn",
     "Kühn", "Pohl", "Engel", "Horn", "Busch", "Bergmann", "Voigt", "Sauer", "Arnold", "Wolff",
     "Pfeiffer", "Yılmaz", "Kaya", "Nowak", "von Berg", "Meyer-Landrut"),
    ("Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois", "Moreau",
     "Laurent", "Simon", "Michel", "Lefebvre", "Leroy", "Roux", "David", "Bertrand", "Morel",
     "Fournier", "Girard", "Bonnet", "Dupont", "Lambert", "Fontaine", "Rousseau", "Vincent",
     "Muller", "Lefèvre", "Faure", "André", "Mercier", "Blanc", "Guérin", "Boyer", "Garnier",
     "Chevalier", "François", "Legrand", "Gauthier", "Garcia", "Perrin", "Robin", "Clément",
     "Morin", "Nicolas", "Henry", "Roussel", "Mathieu", "Gautier", "Masson", "Marchand", "Duval",
     "Denis", "Dumont", "Lemaire", "Noël", "Dufour", "Meunier", "Brun", "Blanchard", "Giraud",
     "Joly", "Rivière", "Lucas", "Brunet", "Gaillard", "Barbier", "Arnaud", "Gérard", "Roche",
     "Renard", "Roy", "Leroux", "Colin", "Vidal", "Caron", "Picard", "Roger", "Fabre", "Aubert",
     "Lemoine", "Renaud", "Dumas", "Lacroix", "Olivier", "Bourgeois", "Benoît", "Rey",
     "Leclerc", "Rolland", "Leclercq", "Lecomte", "Dupuis", "Guillot", "Hubert", "Carpentier",
     "Moulin", "Deschamps", "Huet", "Vasseur", "Boucher", "Fleury", "Royer", "Jacquet", "Le Gall",
     "Da Silva", "Le Roux", "Prévost", "Ménard", "Benali", "Nguyen", "Saint-Martin"),
)

# Company names are "<A> <B>" (+ optional third word) + a legal suffix of the country.
COMPANY_A = (
    "Acme", "Apex", "Summit", "Nord", "Blue", "Red", "Green", "Silver", "Golden", "Iron", "Stone",
    "River", "Lake", "Ocean", "Harbor", "Bay", "Cedar", "Oak", "Pine", "Maple", "Willow", "Birch",
    "Aspen", "Alder", "Falcon", "Eagle", "Hawk", "Raven", "Fox", "Wolf", "Bear", "Lynx", "Otter",
    "Heron", "Orca", "Polar", "Arctic", "Solar", "Lunar", "Stellar", "Nova", "Orbit", "Comet",
    "Vertex", "Vector", "Pixel", "Quantum", "Atlas", "Titan", "Zenith", "Meridian", "Horizon",
    "Northwind", "Westwood", "Eastgate", "Southfield", "Brightway", "Clearwater", "Redwood",
    "Bluebird", "Greenleaf", "Highland", "Lowland", "Crescent", "Beacon", "Lighthouse",
    "Keystone", "Cornerstone", "Bridge", "Gateway", "Pioneer", "Frontier", "Voyager", "Compass",
    "Anchor", "Harvest", "Orchard", "Meadow", "Prairie", "Canyon", "Mesa", "Glacier", "Tundra",
    "Ember", "Spark", "Flint", "Cobalt", "Indigo", "Crimson", "Amber", "Jade", "Onyx", "Opal",
    "Ruby", "Sapphire", "Emerald", "Topaz", "Granite", "Marble", "Copper", "Bronze", "Nickel",
    "Zinc", "Helix", "Prism", "Lumen", "Photon", "Kinetic", "Dynamo", "Fusion", "Catalyst",
    "Element", "Nimbus", "Cirrus", "Stratus", "Cumulus", "Aurora", "Borealis", "Everest",
    "Kilimanjaro", "Fjord", "Tidal", "Coral", "Reef", "Delta", "Sigma", "Omega", "Alpha",
    "Gamma", "Kappa", "Lambda", "Elbe", "Rhein", "Isar", "Seine", "Loire", "Rhone", "Thames",
    "Avon", "Mersey", "Hudson", "Potomac", "Sierra", "Cascade", "Rocky", "Vista", "Alto",
)
COMPANY_B = (
    "Analytics", "Logistics", "Foods", "Labs", "Systems", "Software", "Health", "Energy",
    "Capital", "Media", "Robotics", "Retail", "Motors", "Pharma", "Textiles", "Insurance",
    "Consulting", "Networks", "Security", "Cloud", "Data", "Devices", "Design", "Learning",
    "Travel", "Freight", "Materials", "Chemicals", "Brewing", "Coffee", "Furniture", "Apparel",
    "Outdoor", "Sports", "Games", "Studios", "Payments", "Lending", "Realty", "Construction",
    "Engineering", "Aerospace", "Marine", "Agritech", "Biotech", "Medtech", "Fintech",
    "Telecom", "Hosting", "Solar", "Wind", "Water", "Recycling", "Packaging", "Printing",
    "Publishing", "Events", "Hospitality", "Kitchens", "Bakery", "Dairy", "Optics", "Audio",
    "Mobility", "Cycles", "Tools", "Instruments", "Diagnostics", "Clinics", "Dental",
)
COMPANY_C = (
    "", "Group", "Partners", "Holdings", "Solutions", "Technologies", "Digital", "Global",
    "International", "Ventures", "Works", "Collective", "Industries", "Services", "Dynamics",
    "Innovations", "Company", "Co", "Brands", "Enterprises", "Worldwide",
)
LEGAL_SUFFIXES = (("Inc.", "LLC", "Corp.", ""), ("Ltd", "Limited", "PLC", ""),
                  ("GmbH", "AG", "GmbH & Co. KG", ""), ("SAS", "SA", "SARL", ""))
COMPANY_TLDS = ((("com", 0.70), ("io", 0.15), ("co", 0.05), ("ai", 0.10)),
                (("co.uk", 0.60), ("com", 0.30), ("io", 0.10)),
                (("de", 0.80), ("com", 0.15), ("io", 0.05)),
                (("fr", 0.75), ("com", 0.20), ("io", 0.05)))

INDUSTRIES = (
    "COMPUTER_SOFTWARE", "INFORMATION_TECHNOLOGY_AND_SERVICES", "FINANCIAL_SERVICES", "RETAIL",
    "MARKETING_AND_ADVERTISING", "HOSPITAL_HEALTH_CARE", "LOGISTICS_AND_SUPPLY_CHAIN",
    "MECHANICAL_OR_INDUSTRIAL_ENGINEERING", "E_LEARNING", "INSURANCE", "REAL_ESTATE",
    "CONSUMER_GOODS", "TELECOMMUNICATIONS", "AUTOMOTIVE", "FOOD_BEVERAGES",
    "MANAGEMENT_CONSULTING", "PHARMACEUTICALS", "RENEWABLES_ENVIRONMENT",
)

JOB_TITLES = (
    "CEO", "CTO", "CFO", "COO", "CMO", "VP Marketing", "VP Sales", "Head of Growth",
    "Marketing Manager", "Marketing Operations Manager", "Demand Generation Manager",
    "Data Engineer", "Analytics Engineer", "Data Analyst", "Head of Data", "Product Manager",
    "Software Engineer", "Sales Manager", "Account Executive", "Customer Success Manager",
    "Operations Manager", "IT Manager", "Founder", "Co-Founder", "Director, CRM",
    "Head of E-Commerce", "Business Analyst", "Procurement Manager", "Office Manager",
    "Marketing Assistant",
)

ROLE_MAILBOXES = ("info", "sales", "contact", "office", "hello", "team")

# Free-mail domains per country: (domain, weight). googlemail.com is gmail.com.
FREE_MAIL = (
    (("gmail.com", 0.55), ("yahoo.com", 0.15), ("outlook.com", 0.12), ("hotmail.com", 0.10),
     ("icloud.com", 0.08)),
    (("gmail.com", 0.45), ("hotmail.co.uk", 0.20), ("outlook.com", 0.15), ("yahoo.co.uk", 0.10),
     ("googlemail.com", 0.10)),
    (("gmx.de", 0.30), ("web.de", 0.25), ("gmail.com", 0.30), ("googlemail.com", 0.05),
     ("t-online.de", 0.10)),
    (("orange.fr", 0.25), ("gmail.com", 0.40), ("hotmail.fr", 0.15), ("free.fr", 0.10),
     ("laposte.net", 0.10)),
)

# Phone number spaces (national significant numbers), chosen valid for libphonenumber.
# Personal numbers and office switchboards use disjoint prefixes so that they never collide.
_US_AREAS = ("212", "646", "917", "415", "628", "312", "773", "617", "857", "206", "512", "737",
             "303", "720", "404", "470", "305", "786", "213", "310")
PHONE_PERSONAL = (
    (tuple(a + str(e) for a in _US_AREAS for e in range(300, 1000)
           if e % 100 != 11 and e not in (555, 950, 958, 959, 976)), 4),
    (tuple(str(p) for p in list(range(7400, 7600)) + list(range(7700, 8000))), 6),
    (("151", "152", "157", "159", "170", "171", "172", "173", "175", "176", "177", "178",
      "179"), 8),
    (("61", "62", "64", "65", "66", "67", "68", "75", "76", "77", "78"), 7),
)
PHONE_SWITCHBOARD = (
    (tuple(a + str(e) for a in _US_AREAS for e in range(201, 300) if e != 211), 4),
    (("207", "203"), 7),
    (("30", "40", "89", "69"), 8),
    (("142", "144", "145", "153", "140", "472", "491"), 6),
)

# ---- the website ------------------------------------------------------------------------
SITE = "https://www.lumenware.io"
# (path, title, weight of a random page view)
PAGES = (
    ("/", "Lumenware | The customer data platform for B2B", 20),
    ("/pricing", "Pricing | Lumenware", 9),
    ("/demo", "Book a demo | Lumenware", 3),
    ("/signup", "Start your free trial | Lumenware", 2),
    ("/contact", "Contact sales | Lumenware", 1.5),
    ("/login", "Log in | Lumenware", 3),
    ("/product", "Product overview | Lumenware", 6),
    ("/product/identity-resolution", "Identity resolution | Lumenware", 4),
    ("/product/audiences", "Audiences and segments | Lumenware", 3),
    ("/product/activation", "Activation and reverse ETL | Lumenware", 2.5),
    ("/product/analytics", "Customer analytics | Lumenware", 2.5),
    ("/integrations", "Integrations | Lumenware", 2),
    ("/integrations/hubspot", "HubSpot integration | Lumenware", 1),
    ("/integrations/salesforce", "Salesforce integration | Lumenware", 1),
    ("/customers", "Customer stories | Lumenware", 2),
    ("/customers/northwind-retail", "How Northwind unified 4M shoppers | Lumenware", 1),
    ("/about", "About us | Lumenware", 1.5),
    ("/careers", "Careers | Lumenware", 1.5),
    ("/security", "Security and GDPR | Lumenware", 1),
    ("/docs", "Documentation | Lumenware", 2),
    ("/docs/getting-started", "Getting started | Lumenware Docs", 1.5),
    ("/webinars/cdp-101", "Webinar: CDP 101 | Lumenware", 1),
    ("/ebooks/state-of-customer-data", "Ebook: The state of customer data 2026 | Lumenware", 1),
    ("/blog", "Blog | Lumenware", 3),
    ("/blog/what-is-a-cdp", "What is a customer data platform? | Lumenware", 3),
    ("/blog/identity-resolution-explained", "Identity resolution explained | Lumenware", 2),
    ("/blog/warehouse-native-cdp", "Why warehouse-native CDPs win | Lumenware", 2),
    ("/blog/gdpr-consent-checklist", "A GDPR consent checklist for marketers | Lumenware", 1.5),
    ("/blog/lead-scoring-models", "Lead scoring models that work | Lumenware", 1.5),
    ("/blog/multi-touch-attribution", "Multi-touch attribution, honestly | Lumenware", 1.5),
    ("/blog/rfm-segmentation", "RFM segmentation in SQL | Lumenware", 1),
    ("/blog/reverse-etl-guide", "A practical guide to reverse ETL | Lumenware", 1),
    ("/blog/dbt-for-marketers", "dbt for marketers | Lumenware", 1),
    ("/blog/customer-match-hashing", "Hashing emails for Customer Match | Lumenware", 1),
)

# Conversion flows: form page, track event, properties.
FORMS = {
    "demo": ("/demo", "Demo Requested", '{"form_id":"demo","company_size":"%s"}'),
    "contact": ("/contact", "Form Submitted", '{"form_id":"contact-sales","topic":"pricing"}'),
    "webinar": ("/webinars/cdp-101", "Form Submitted", '{"form_id":"webinar-cdp-101"}'),
    "ebook": ("/ebooks/state-of-customer-data", "Form Submitted",
              '{"form_id":"ebook-state-of-customer-data"}'),
    "signup": ("/signup", "Signed Up", '{"plan":"trial","method":"email"}'),
    "login": ("/login", "Signed In", '{"method":"%s"}'),
}
COMPANY_SIZES = ("1-10", "11-50", "51-200", "201-1000", "1000+")

# Generic track events on any page: (event, properties variants)
TRACKS = (
    ("CTA Clicked", ('{"cta":"Book a demo","location":"hero"}', '{"cta":"Start free trial","location":"nav"}',
                     '{"cta":"See pricing","location":"footer"}')),
    ("Video Played", ('{"video":"product-tour","position":0}', '{"video":"customer-story-northwind","position":0}')),
    ("Document Downloaded", ('{"asset":"security-whitepaper.pdf"}', '{"asset":"gdpr-dpa.pdf"}')),
    ("Pricing Plan Selected", ('{"plan":"growth","billing":"annual"}', '{"plan":"starter","billing":"monthly"}',
                               '{"plan":"enterprise","billing":"annual"}')),
    ("Search Performed", ('{"query":"hubspot"}', '{"query":"identity resolution"}', '{"query":"pricing"}')),
    ("Newsletter Viewed", ('{"issue":"latest"}',)),
)
TRIAL_STARTED = ("Trial Started", '{"plan":"growth","trial_days":14}')
# The cookie banner: a visitor's choice per purpose (Segment "Consent Updated"), with its share of
# the visitors who answered. The consent ledger reads properties.purposes.<purpose>.
CONSENT_UPDATED = "Consent Updated"
CONSENT_CHOICES = (
    (0.60, '{"purposes":{"ads":true,"analytics":true},"lawful_basis":"consent","banner":"v3"}'),
    (0.25, '{"purposes":{"ads":false,"analytics":true},"lawful_basis":"consent","banner":"v3"}'),
    (0.15, '{"purposes":{"ads":false,"analytics":false},"lawful_basis":"consent","banner":"v3"}'),
)
CONSENT_ANSWER_RATE = 0.7  # visitors who answer the banner (on their first tracked event)

EXTERNAL_REFERRERS = (("", 0.40), ("https://www.google.com/", 0.35), ("https://www.bing.com/", 0.05),
                      ("https://duckduckgo.com/", 0.04), ("https://www.linkedin.com/", 0.07),
                      ("https://t.co/", 0.03), ("https://news.ycombinator.com/", 0.03),
                      ("https://www.reddit.com/", 0.03))

USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.6 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:143.0) Gecko/20100101 Firefox/143.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Safari/537.36 Edg/141.0.0.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.6 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPad; CPU OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.6 Mobile/15E148 Safari/604.1",
)

# ---- paid campaigns: platform, campaign name, utm_source, utm_medium, utm_campaign, landing
# path, referrer of the landing, click-through rate, cost per click range, share of ad sessions
AD_CAMPAIGNS = (
    ("google_ads", "Brand Search - US", "google", "cpc", "brand_search_us", "/", "https://www.google.com/", 0.060, (0.8, 2.0), 0.16),
    ("google_ads", "Generic Search - CDP", "google", "cpc", "generic_search_cdp", "/product/identity-resolution", "https://www.google.com/", 0.035, (4.0, 9.0), 0.14),
    ("google_ads", "Competitor Search", "google", "cpc", "competitor_search", "/pricing", "https://www.google.com/", 0.030, (6.0, 12.0), 0.06),
    ("google_ads", "Display Retargeting", "google", "display", "display_retargeting", "/demo", "https://www.google.com/", 0.004, (0.6, 1.5), 0.07),
    ("google_ads", "Performance Max - EMEA", "google", "cpc", "pmax_emea", "/product", "https://www.google.com/", 0.012, (1.5, 4.0), 0.08),
    ("meta_ads", "Prospecting - Lookalike", "facebook", "paid_social", "fb_prospecting_lal", "/ebooks/state-of-customer-data", "https://l.facebook.com/", 0.011, (0.7, 2.2), 0.10),
    ("meta_ads", "Retargeting - Site Visitors", "facebook", "paid_social", "fb_retargeting", "/demo", "https://l.facebook.com/", 0.015, (0.9, 2.5), 0.08),
    ("meta_ads", "Instagram Awareness", "instagram", "paid_social", "ig_awareness", "/", "https://l.instagram.com/", 0.008, (0.4, 1.2), 0.06),
    ("linkedin_ads", "ABM - Enterprise Accounts", "linkedin", "paid_social", "li_abm_enterprise", "/demo", "https://www.linkedin.com/", 0.006, (7.0, 14.0), 0.08),
    ("linkedin_ads", "Sponsored Content - CDP 101 Webinar", "linkedin", "paid_social", "li_webinar_cdp101", "/webinars/cdp-101", "https://www.linkedin.com/", 0.007, (5.0, 10.0), 0.06),
    ("linkedin_ads", "Lead Gen - Ebook", "linkedin", "paid_social", "li_leadgen_ebook", "/ebooks/state-of-customer-data", "https://www.linkedin.com/", 0.009, (5.0, 11.0), 0.05),
    ("linkedin_ads", "Conversation Ads - DACH", "linkedin", "paid_social", "li_dach_conversation", "/pricing", "https://www.linkedin.com/", 0.005, (6.0, 12.0), 0.03),
)

EMAIL_CAMPAIGN_KINDS = (
    # weekday (Mon=0), hour UTC, name prefix, subject lines
    (1, 9, "Weekly Newsletter", ("This week in customer data", "5 ideas to clean your CRM",
                                  "Your Tuesday read: identity resolution", "The attribution issue")),
    (3, 15, "Product & Events", ("New: warehouse-native audiences", "Join our CDP 101 webinar",
                                 "What shipped this month", "Last chance: free trial extension")),
)

DEAL_PRODUCTS = ("Starter", "Growth", "Enterprise", "Identity add-on", "Expansion", "Renewal")
OPEN_STAGES = ("appointmentscheduled", "qualifiedtobuy", "presentationscheduled",
               "decisionmakerboughtin", "contractsent")

# Hard mode: the short forms people type instead of their first name (formal -> nicknames).
# The identity seed dbt_project/seeds/identity_nicknames.csv knows the same pairs, as a
# production name-variant list would.
NICKNAMES = {
    "James": ("Jim", "Jimmy"), "John": ("Jack", "Johnny"), "Robert": ("Bob", "Rob", "Bobby"),
    "Michael": ("Mike", "Mick"), "William": ("Will", "Bill", "Billy"), "David": ("Dave",),
    "Richard": ("Rick", "Dick", "Rich"), "Joseph": ("Joe",), "Thomas": ("Tom", "Tommy"),
    "Charles": ("Charlie", "Chuck"), "Christopher": ("Chris",), "Daniel": ("Dan", "Danny"),
    "Matthew": ("Matt",), "Anthony": ("Tony",), "Donald": ("Don",), "Steven": ("Steve",),
    "Andrew": ("Andy", "Drew"), "Joshua": ("Josh",), "Kenneth": ("Ken", "Kenny"),
    "Timothy": ("Tim",), "Ronald": ("Ron",), "Edward": ("Ed", "Ted"), "Jeffrey": ("Jeff",),
    "Nicholas": ("Nick",), "Jonathan": ("Jon",), "Stephen": ("Steve",), "Benjamin": ("Ben",),
    "Samuel": ("Sam",), "Gregory": ("Greg",), "Alexander": ("Alex",), "Patrick": ("Pat",),
    "Raymond": ("Ray",), "Zachary": ("Zach",), "Nathan": ("Nate",), "Peter": ("Pete",),
    "Elizabeth": ("Liz", "Beth", "Betty"), "Patricia": ("Pat", "Patty"), "Jennifer": ("Jen", "Jenny"),
    "Margaret": ("Maggie", "Peggy"), "Katherine": ("Kate", "Kathy"), "Catherine": ("Cathy", "Kate"),
    "Rebecca": ("Becky",), "Kimberly": ("Kim",), "Deborah": ("Debbie", "Deb"), "Susan": ("Sue",),
    "Jessica": ("Jess",), "Samantha": ("Sam",), "Victoria": ("Vicky",), "Christina": ("Chris", "Tina"),
    "Pamela": ("Pam",), "Stephanie": ("Steph",), "Kathleen": ("Kathy",), "Amanda": ("Mandy",),
    "Oliver": ("Ollie",), "Harry": ("Hal",), "Alfie": ("Alf",), "Frederick": ("Fred",),
    "Eleanor": ("Ellie",), "Isabella": ("Bella",), "Maximilian": ("Max",), "Sebastian": ("Basti",),
    "Tobias": ("Tobi",), "Matthias": ("Matze",), "Katharina": ("Kathi",), "Franziska": ("Franzi",),
    "Johanna": ("Hanna",), "Stefanie": ("Steffi",), "Nicolas": ("Nico",), "Guillaume": ("Guillou",),
    "Christophe": ("Chris",), "Mathieu": ("Mat",),
}
