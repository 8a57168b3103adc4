"""What the bench puts in its database, what it sends, and what it reads back.

The workspace is one inbound team of eligible reps caught by a default rule,
plus a token for the load generator. Leads come from a fixed mix of
hand-raisers and scored leads, each with an address of its own, so every
request is a new lead that goes all the way to a notification.
"""

import json

from django.db import transaction

from bowtie.models import Delivery, Notification, Person, Team
from bowtie.services import issue_api_token
from handoffs.models import Lead, RoutingRule

BENCH_DOMAIN = "bench.bowtie.test"
BENCH_TEAM_NAME = "Bench inbound"
LOAD_GENERATOR_EMAIL = f"load@{BENCH_DOMAIN}"
COUNTRIES = ("DE", "GB", "FR", "NL", "SE", "US", "AT", "ES")
LANGUAGES = ("de", "en", "fr", "nl", "sv", "en", "de", "es")
TITLES = (
    "Head of Operations",
    "VP Sales",
    "Marketing Manager",
    "Engineer",
    "Chief Technology Officer",
    "Analyst",
)


def seed_workspace(rep_count: int) -> str:
    """Create the team, its reps, the default rule and a token; return its key."""

    with transaction.atomic():
        team = Team.objects.create(name=BENCH_TEAM_NAME, time_zone="UTC")
        team.head = Person.objects.create(
            full_name="Bench Manager",
            email=f"manager@{BENCH_DOMAIN}",
            role=Person.Role.MANAGER,
            team=team,
        )
        team.save(update_fields=["head"])
        for number in range(1, rep_count + 1):
            Person.objects.create(
                full_name=f"Bench Rep {number}",
                email=f"rep{number}@{BENCH_DOMAIN}",
                role=Person.Role.SDR,
                team=team,
            )
        RoutingRule.objects.create(
            name="Everything else", priority=1000, team=team, is_default=True
        )
        integration = Person.objects.create(
            full_name="Bench Load Generator",
            email=LOAD_GENERATOR_EMAIL,
            role=Person.Role.REVOPS_ADMIN,
            notify_by_email=False,
        )

    # Not rate limited: the bench sends far more than any minute's allowance.
    # A very high rate would not do instead: the throttle keeps a timestamp of
    # each request of the last minute and writes them all back on every
    # request, so the bench would measure that list. Intake and the baseline
    # both skip the throttle, so their ratio holds.
    _, key = issue_api_token(
        "Bench load generator",
        ["leads:write", "leads:read"],
        created_by=integration,
        rate_per_minute=0,
    )
    return key


def lead_submission(run: str, phase: str, index: int) -> dict:
    """One new lead: a third ask for sales, the rest are scored on engagement."""
    company = index % 97
    submission = {
        "email": f"{phase}.{index}@{run}-company{company}.com",
        "first_name": "Kim",
        "last_name": f"Lead{index}",
        "company_name": f"Company {company}",
        "job_title": TITLES[index % len(TITLES)],
        "country": COUNTRIES[index % len(COUNTRIES)],
        "language": LANGUAGES[index % len(LANGUAGES)],
        "employee_count": str(20 + company * 13),
    }
    if index % 3 == 0:
        submission["form_type"] = "demo_request"
        return submission

    submission |= {
        "form_type": "content_download" if index % 3 == 1 else "",
        "source": "google",
        "utm_medium": "cpc",
        "visits": str(index % 12),
        "time_on_site_seconds": str(30 * (index % 40)),
        "page_views_per_visit": "2.5",
        "last_activity": "Email Opened",
        "third_party_intent": str(index % 101),
    }
    return submission


def encoded_submissions(run: str, phase: str, count: int) -> list[bytes]:
    return [
        json.dumps(lead_submission(run, phase, index)).encode()
        for index in range(count)
    ]


def lead_email_prefix(phase: str) -> str:
    return f"{phase}."


def pending_delivery_count() -> int:
    return Delivery.objects.filter(status=Delivery.Status.PENDING).count()


def notification_delays(phase: str, sent_at_by_email: dict[str, float]) -> dict:
    """Time from each lead of a phase to its owner's notification.

    Returns lists of seconds: e-mail delivery after `received_at`, in-app
    notification after `received_at`, e-mail delivery after the client sent
    the request; and how many leads had no e-mail delivery sent.
    """
    leads = {
        pk: (email, received_at)
        for pk, email, received_at in Lead.objects.filter(
            email__startswith=lead_email_prefix(phase)
        ).values_list("pk", "email", "received_at")
    }

    # The event key is the only link from a notification to its lead.
    notifications = {}
    for pk, event_key in Notification.objects.filter(
        event_key__startswith="lead:"
    ).values_list("pk", "event_key"):
        lead_pk = int(event_key.split(":")[1])
        if lead_pk in leads:
            notifications[pk] = lead_pk

    sent_at_by_notification = dict(
        Delivery.objects.filter(
            notification_id__in=list(notifications),
            channel=Delivery.Channel.EMAIL,
            status=Delivery.Status.SENT,
        ).values_list("notification_id", "sent_at")
    )

    email_after_received = []
    email_after_request = []
    for notification_pk, lead_pk in notifications.items():
        email, received_at = leads[lead_pk]
        sent_at = sent_at_by_notification.get(notification_pk)
        if sent_at is None:
            continue
        email_after_received.append((sent_at - received_at).total_seconds())
        if email in sent_at_by_email:
            email_after_request.append(sent_at.timestamp() - sent_at_by_email[email])

    return {
        "lead_count": len(leads),
        "notification_count": len(notifications),
        "email_after_received": email_after_received,
        "email_after_request": email_after_request,
        "unsent_count": len(notifications) - len(email_after_received),
    }
