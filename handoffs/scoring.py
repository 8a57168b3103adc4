"""Score a lead on fit, behavioural intent and third-party intent.

Each part is 0-100; the total is their weighted mean with the weights RevOps
sets (40/40/20 by default). Hand-raisers are not scored: they asked for sales.
Pure functions, so a change of rule is tested without a database.
"""

import re
from dataclasses import dataclass

from bowtie.domains import is_free_mail

SENIOR_TITLE_WORDS = (
    "chief",
    "ceo",
    "cfo",
    "cto",
    "coo",
    "cro",
    "vp",
    "vice president",
    "head",
    "director",
    "founder",
    "owner",
    "partner",
)
MANAGER_TITLE_WORDS = (
    "manager",
    "lead",
    "leader",
    "principal",
    "working professional",
    "businessman",
)
NON_BUYER_TITLE_WORDS = ("student", "unemployed", "intern", "housewife")

# Last activities that show interest, and those that show the opposite.
ACTIVITY_POINTS = {
    "had a phone conversation": 40,
    "form submitted on website": 30,
    "converted to lead": 30,
    "email link clicked": 25,
    "olark chat conversation": 25,
    "approached upfront": 25,
    "visited booth in tradeshow": 25,
    "sms sent": 15,
    "email opened": 10,
    "page visited on website": 10,
    "email bounced": -20,
    "unsubscribed": -30,
    "unreachable": -20,
    "email marked spam": -40,
}


@dataclass(frozen=True)
class Score:
    fit: int
    intent: int
    third_party: int
    total: int
    weights: dict


def _bounded(points: float) -> int:
    return max(0, min(100, round(points)))


def has_title_word(title: str, words: tuple[str, ...]) -> bool:
    """True when the title holds one of the words as a whole word (or plural).

    Whole words, because short ones hide inside others: "coo" in
    "coordinator", "intern" in "international", "cto" in "director".
    """
    return any(re.search(rf"\b{re.escape(word)}s?\b", title) for word in words)


def fit_score(values: dict) -> int:
    points = 0.0

    employees = values.get("employee_count")
    if employees is not None:
        points += 10 if employees < 10 else 25 if employees < 200 else 40

    title = (values.get("job_title") or "").casefold()
    if has_title_word(title, SENIOR_TITLE_WORDS):
        points += 35
    elif has_title_word(title, NON_BUYER_TITLE_WORDS):
        points += 0
    elif has_title_word(title, MANAGER_TITLE_WORDS):
        points += 25
    elif title:
        points += 10

    domain = values.get("email_domain") or ""
    if values.get("account_matched"):
        points += 25
    elif domain and not is_free_mail(domain):
        points += 15
    return _bounded(points)


def intent_score(engagement: dict) -> int:
    # Saturating: a dozen visits or half an hour on the site is already strong.
    visits = min(engagement.get("visits", 0), 12) / 12 * 30
    minutes = min(engagement.get("time_on_site_seconds", 0) / 60, 30) / 30 * 30
    pages = min(engagement.get("page_views_per_visit", 0), 6) / 6 * 15
    activity = ACTIVITY_POINTS.get(engagement.get("last_activity", "").casefold(), 0)
    return _bounded(visits + minutes + pages + activity)


def score_lead(values: dict, engagement: dict, weights: dict) -> Score:
    fit = fit_score(values)
    intent = intent_score(engagement)
    third_party = values.get("third_party_intent") or 0
    total = (
        fit * weights["fit"]
        + intent * weights["intent"]
        + third_party * weights["third_party"]
    ) / 100
    return Score(fit, intent, third_party, _bounded(total), dict(weights))
