"""A demo workspace that Bowtie generates by itself, for `make run`.

Teams in European regions with working hours and time zones, reps with
languages and capacities, territories, accounts with domains and contacts,
routing rules, SLA defaults from the migrations, and a few leads in every
state, all created through the same services as real data.
"""

from datetime import time, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from djmoney.money import Money

from bowtie.calendars import calendar_for, subtract_business_seconds
from bowtie.models import (
    Account,
    AccountDomain,
    Contact,
    Deal,
    OutOfOffice,
    Person,
    Pipeline,
    Team,
    Territory,
    WorkingPeriod,
)
from handoffs import escalation
from handoffs.closing import close_deal_won, save_deal_packet
from handoffs.models import IntakeChannel, Lead, RoutingRule
from handoffs.routing import matching_rule
from handoffs.services import (
    accept_lead,
    disposition_lead,
    intake_lead,
    log_touch,
    match_account,
)

DEMO_PASSWORD = "bowtie-demo"

TEAMS = [
    # name, time zone, country, distribution
    ("Inbound DACH", "Europe/Berlin", "DE", Team.Distribution.ROUND_ROBIN),
    ("Inbound Nordics", "Europe/Stockholm", "SE", Team.Distribution.WEIGHTED),
    ("Inbound UK & Ireland", "Europe/London", "GB", Team.Distribution.CAPACITY),
    ("Inbound Global", "Europe/Amsterdam", "NL", Team.Distribution.ROUND_ROBIN),
    ("Enterprise AEs", "Europe/Berlin", "DE", Team.Distribution.ROUND_ROBIN),
    ("Implementation", "Europe/Berlin", "DE", Team.Distribution.ROUND_ROBIN),
]
TEAM_FUNCTIONS = {
    "Enterprise AEs": Team.Function.SALES,
    "Implementation": Team.Function.IMPLEMENTATION,
}

# username, full name, role, team, languages, capacity, weight
PEOPLE = [
    ("revops", "Rhea Ops", Person.Role.REVOPS_ADMIN, "Inbound Global", [], None, 1),
    ("mara", "Mara Keller", Person.Role.MANAGER, "Inbound DACH", ["de", "en"], None, 1),
    ("jonas", "Jonas Weber", Person.Role.SDR, "Inbound DACH", ["de", "en"], 25, 1),
    ("lena", "Lena Fischer", Person.Role.SDR, "Inbound DACH", ["de", "en"], 25, 1),
    ("felix", "Felix Brandt", Person.Role.SDR, "Inbound DACH", ["de"], 25, 1),
    (
        "sven",
        "Sven Lund",
        Person.Role.MANAGER,
        "Inbound Nordics",
        ["sv", "en"],
        None,
        1,
    ),
    (
        "astrid",
        "Astrid Berg",
        Person.Role.SDR,
        "Inbound Nordics",
        ["sv", "no", "en"],
        20,
        2,
    ),
    (
        "mikko",
        "Mikko Virtanen",
        Person.Role.SDR,
        "Inbound Nordics",
        ["fi", "en"],
        20,
        1,
    ),
    (
        "olivia",
        "Olivia Hart",
        Person.Role.MANAGER,
        "Inbound UK & Ireland",
        ["en"],
        None,
        1,
    ),
    ("liam", "Liam Byrne", Person.Role.SDR, "Inbound UK & Ireland", ["en"], 15, 1),
    ("grace", "Grace Okafor", Person.Role.SDR, "Inbound UK & Ireland", ["en"], 30, 1),
    (
        "noah",
        "Noah Visser",
        Person.Role.MANAGER,
        "Inbound Global",
        ["nl", "en"],
        None,
        1,
    ),
    (
        "ines",
        "Inês Costa",
        Person.Role.SDR,
        "Inbound Global",
        ["pt", "es", "en"],
        40,
        1,
    ),
    ("marc", "Marc Dubois", Person.Role.SDR, "Inbound Global", ["fr", "en"], 40, 1),
    ("sofia", "Sofia Romano", Person.Role.SDR, "Inbound Global", ["it", "en"], 40, 1),
    ("erik", "Erik Sand", Person.Role.MANAGER, "Enterprise AEs", ["de", "en"], None, 1),
    (
        "hannah",
        "Hannah Schulz",
        Person.Role.AE,
        "Enterprise AEs",
        ["de", "en"],
        None,
        1,
    ),
    ("tom", "Tom Becker", Person.Role.AE, "Enterprise AEs", ["de", "en"], None, 1),
    (
        "ivy",
        "Ivy Ingram",
        Person.Role.IMPLEMENTATION,
        "Implementation",
        ["de", "en"],
        None,
        1,
    ),
]

TERRITORIES = [
    ("DACH", ["DE", "AT", "CH", "LI"], "Inbound DACH"),
    ("Nordics", ["SE", "NO", "DK", "FI", "IS"], "Inbound Nordics"),
    ("UK & Ireland", ["GB", "IE"], "Inbound UK & Ireland"),
]

RULES = [
    (
        "German speakers to DACH",
        10,
        [{"field": "language", "operator": "in", "value": ["de"]}],
        "Inbound DACH",
    ),
    (
        "Nordic languages to Nordics",
        20,
        [
            {
                "field": "language",
                "operator": "in",
                "value": ["sv", "no", "nb", "da", "fi", "is"],
            }
        ],
        "Inbound Nordics",
    ),
    (
        "UK & Ireland territory",
        30,
        [{"field": "territory", "operator": "equals", "value": "UK & Ireland"}],
        "Inbound UK & Ireland",
    ),
]

ACCOUNTS = [
    # name, domain, country, industry, employees, owner
    (
        "Bergmann Maschinenbau AG",
        "bergmann-maschinenbau.de",
        "DE",
        "manufacturing",
        2400,
        "hannah",
    ),
    ("Müller Logistik GmbH", "mueller-logistik.de", "DE", "logistics", 850, "tom"),
    ("Nordvik Energi AS", "nordvik-energi.no", "NO", "energy", 1200, "hannah"),
    ("Thames Analytics Ltd", "thames-analytics.co.uk", "GB", "software", 320, "tom"),
    ("Costa Verde Retail SA", "costaverde.pt", "PT", "retail", 4100, None),
    ("Lumière Santé", "lumiere-sante.fr", "FR", "healthcare", 640, None),
]

# Leads of the demo: (e-mail, first, last, company, country, language, form type,
# medium, minutes ago, what happens next)
LEADS = [
    (
        "anna.schmidt@kraftwerk-solar.de",
        "Anna",
        "Schmidt",
        "Kraftwerk Solar",
        "DE",
        "de",
        "demo_request",
        "",
        1,
        "new",
    ),
    (
        "p.wagner@bergmann-maschinenbau.de",
        "Peter",
        "Wagner",
        "",
        "DE",
        "de",
        "contact_sales",
        "",
        2,
        "new",
    ),
    (
        "zoe.martin@lumiere-sante.fr",
        "Zoë",
        "Martin",
        "",
        "FR",
        "fr",
        "pricing",
        "",
        3,
        "accepted",
    ),
    (
        "oskar@fjordtech.se",
        "Oskar",
        "Nilsson",
        "Fjordtech",
        "SE",
        "sv",
        "",
        "cpc",
        4,
        "new",
    ),
    (
        "aino.korhonen@saimaa-soft.fi",
        "Aino",
        "Korhonen",
        "Saimaa Soft",
        "FI",
        "fi",
        "demo_request",
        "",
        90,
        "breached",
    ),
    (
        "james.reid@thames-analytics.co.uk",
        "James",
        "Reid",
        "",
        "GB",
        "en",
        "webinar",
        "",
        30,
        "working",
    ),
    (
        "siobhan@liffey-labs.ie",
        "Siobhán",
        "Murphy",
        "Liffey Labs",
        "IE",
        "en",
        "contact_sales",
        "",
        240,
        "qualified",
    ),
    (
        "marco.bianchi@gmail.com",
        "Marco",
        "Bianchi",
        "Bianchi Consulting",
        "IT",
        "it",
        "content_download",
        "",
        4320,
        "nurture",
    ),
    (
        "j.doe@example-spam.biz",
        "John",
        "Doe",
        "Example",
        "US",
        "en",
        "",
        "",
        1500,
        "disqualified",
    ),
    (
        "lukas.meier@alpen-data.ch",
        "Lukas",
        "Meier",
        "Alpen Data",
        "CH",
        "de",
        "",
        "",
        45,
        "breached",
    ),
]


def is_loaded() -> bool:
    return Team.objects.filter(name=TEAMS[0][0]).exists()


@transaction.atomic
def load_demo(now=None) -> dict:
    """Create the demo workspace once; return its log-ins."""
    now = now or timezone.now()
    teams = create_teams()
    people = create_people(teams, now)
    create_territories_and_rules(teams)
    create_accounts(people)
    create_leads(people, now)
    create_deals(people, now)
    return {username: DEMO_PASSWORD for username, *_ in PEOPLE}


def create_teams() -> dict[str, Team]:
    teams = {}
    for name, zone, country, distribution in TEAMS:
        teams[name] = Team.objects.create(
            name=name,
            time_zone=zone,
            country=country,
            distribution=distribution,
            function=TEAM_FUNCTIONS.get(name, Team.Function.SALES),
        )
        for weekday in range(5):
            WorkingPeriod.objects.create(
                team=teams[name], weekday=weekday, starts_at=time(9), ends_at=time(18)
            )
    return teams


def create_people(teams: dict[str, Team], now) -> dict[str, Person]:
    User = get_user_model()
    people = {}
    for username, full_name, role, team_name, languages, capacity, weight in PEOPLE:
        user = User.objects.create_user(
            username=username,
            password=DEMO_PASSWORD,
            is_staff=role == Person.Role.REVOPS_ADMIN,
            is_superuser=role == Person.Role.REVOPS_ADMIN,
        )
        team = teams[team_name]
        people[username] = Person.objects.create(
            user=user,
            full_name=full_name,
            email=f"{username}@bowtie.example",
            role=role,
            team=team,
            time_zone=team.time_zone,
            languages=languages,
            capacity=capacity,
            routing_weight=weight,
        )
        if role == Person.Role.MANAGER:
            team.head = people[username]
            team.save(update_fields=["head"])

    for person in people.values():
        if person.role != Person.Role.MANAGER and person.team.head_id:
            person.manager = person.team.head
            person.save(update_fields=["manager"])

    # Shows routing around people who cannot take leads right now. Away for
    # longer than the demo's Nordic leads go back in working time.
    OutOfOffice.objects.create(
        person=people["mikko"],
        starts_at=now - timedelta(days=7),
        ends_at=now + timedelta(days=5),
        note="Holiday",
    )
    people["felix"].is_active = False
    people["felix"].save(update_fields=["is_active"])
    return people


def create_territories_and_rules(teams: dict[str, Team]) -> None:
    for name, countries, team_name in TERRITORIES:
        Territory.objects.create(name=name, countries=countries, team=teams[team_name])
    for name, priority, conditions, team_name in RULES:
        RoutingRule.objects.create(
            name=name, priority=priority, conditions=conditions, team=teams[team_name]
        )
    RoutingRule.objects.create(
        name="Everyone else to Global",
        priority=1000,
        is_default=True,
        team=teams["Inbound Global"],
    )


def create_accounts(people: dict[str, Person]) -> None:
    for name, domain, country, industry, employees, owner in ACCOUNTS:
        account = Account.objects.create(
            name=name,
            country=country,
            industry=industry,
            employee_count=employees,
            owner=people[owner] if owner else None,
        )
        AccountDomain.objects.create(account=account, domain=domain)
        local = domain.split(".")[0]
        Contact.objects.create(
            account=account,
            email=f"cfo@{domain}",
            first_name="Chris",
            last_name=f"{local.title()} CFO",
            job_title="Chief Financial Officer",
        )


def create_leads(people: dict[str, Person], now) -> None:
    for (
        email,
        first,
        last,
        company,
        country,
        language,
        form_type,
        medium,
        minutes_ago,
        outcome,
    ) in LEADS:
        submission = {
            "email": email,
            "first_name": first,
            "last_name": last,
            "company_name": company,
            "country": country,
            "language": language,
            "form_type": form_type,
            "utm_medium": medium,
            "visits": "4",
            "time_on_site_seconds": "420",
            "page_views_per_visit": "3",
        }
        # "Minutes ago" in the receiving team's working time: whenever the
        # demo is loaded, its clocks stand where a working day would put them.
        calendar = calendar_for(team=receiving_team(submission))
        received_at = subtract_business_seconds(calendar, now, minutes_ago * 60)
        lead = intake_lead(submission, channel=IntakeChannel.FORM, now=received_at).lead
        worker = lead.owner or (lead.team.head if lead.team else people["noah"])
        play_outcome(lead, worker, outcome, received_at)

    # Record the breaches of the leads nobody answered in time.
    escalation.sweep(now)


def receiving_team(submission: dict) -> Team | None:
    """The team a demo lead will reach: its account owner's, or its rule's."""
    account = match_account(submission["email"].split("@")[1])
    if account is not None and account.owner_id:
        return account.owner.team
    rule = matching_rule(submission)
    return rule.team if rule is not None else None


# How long each demo rep took to answer, so the dashboard has a spread.
RESPONSE_DELAYS = {
    "working": timedelta(minutes=8, seconds=20),
    "qualified": timedelta(minutes=2, seconds=10),
    "nurture": timedelta(hours=26),
    "disqualified": timedelta(minutes=14),
}


def play_outcome(lead: Lead, worker: Person, outcome: str, received_at) -> None:
    responded_at = received_at + RESPONSE_DELAYS.get(outcome, timedelta(0))
    if outcome == "accepted":
        accept_lead(lead, worker, now=received_at + timedelta(minutes=1))
    elif outcome == "working":
        log_touch(
            lead, worker, "email", "Sent the webinar recording.", now=responded_at
        )
    elif outcome == "qualified":
        log_touch(lead, worker, "call", "Budget approved for Q1.", now=responded_at)
        disposition_lead(
            lead, worker, Lead.Status.QUALIFIED, now=responded_at + timedelta(hours=1)
        )
    elif outcome == "nurture":
        log_touch(
            lead, worker, "email", "Not ready before next year.", now=responded_at
        )
        disposition_lead(
            lead, worker, Lead.Status.NURTURE, now=responded_at + timedelta(hours=2)
        )
    elif outcome == "disqualified":
        disposition_lead(
            lead,
            worker,
            Lead.Status.DISQUALIFIED,
            "Not a real company",
            now=responded_at,
        )


# A complete packet for the demo's won deal, and the start of one for the
# deal still being worked.
DEMO_PACKET = {
    "deal_history": "Inbound demo request in September; won on the migration plan.",
    "goals": [
        {
            "metric": "Time from order to dispatch",
            "baseline": "4 days",
            "target": "1 day",
            "by_when": "end of Q2",
        }
    ],
    "stakeholders": [
        {"person": "Katrin Vogel", "role": "champion", "sentiment": "positive"},
        {"person": "Chris Lange", "role": "economic buyer", "sentiment": "neutral"},
    ],
    "commitments": [
        {
            "commitment": "SAP connector live in the first month",
            "kind": "explicit",
            "owner": "Implementation",
            "due_on": "in 30 days",
        }
    ],
    "risks": "The plant IT team backed the incumbent.",
    "technical_requirements": [
        {"area": "integration", "requirement": "SAP S/4HANA order sync"},
        {"area": "compliance", "requirement": "Data stays in the EU"},
    ],
    "timeline": [{"event": "Works council review", "on": "in six weeks"}],
}


def create_deals(people: dict[str, Person], now) -> None:
    """One deal closed won through the gate, one with half a packet."""
    implementation = Team.objects.get(name="Implementation")
    implementation.head = people["ivy"]
    implementation.save(update_fields=["head"])
    pipeline = Pipeline.objects.get(kind=Pipeline.Kind.NEW_BUSINESS, is_default=True)
    engaging = pipeline.stages.get(name="Engaging")

    won = Deal.objects.create(
        name="Bergmann order platform",
        account=Account.objects.get(name="Bergmann Maschinenbau AG"),
        owner=people["hannah"],
        pipeline=pipeline,
        stage=engaging,
        amount=Money(60_000, "EUR"),
        term_months=12,
    )
    save_deal_packet(won, DEMO_PACKET)
    close_deal_won(won, people["hannah"], now=now - timedelta(hours=5))

    open_deal = Deal.objects.create(
        name="Müller fleet rollout",
        account=Account.objects.get(name="Müller Logistik GmbH"),
        owner=people["tom"],
        pipeline=pipeline,
        stage=engaging,
        amount=Money(18_000, "EUR"),
        term_months=12,
    )
    save_deal_packet(
        open_deal,
        {
            "deal_history": "Referral from Bergmann's IT lead.",
            "risks": "Budget is approved for half the fleet only.",
        },
    )
