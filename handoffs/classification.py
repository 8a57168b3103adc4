"""Decide a lead's type from its form type, UTM data and referral code.

The order matters and is the product's rule: a partner's referral is credited
to the partner whatever form it came through; an explicit request to talk to
sales beats how the visitor arrived; content downloads are nurture even from a
paid click; what is left is paid or organic by its medium or source.
"""

from handoffs.models.leads import LeadType

HAND_RAISER_FORMS = frozenset(
    {"contact_sales", "demo_request", "pricing", "quote", "trial", "contact"}
)
NURTURE_FORMS = frozenset(
    {"content_download", "webinar", "ebook", "whitepaper", "newsletter", "event"}
)
PARTNER_SOURCES = frozenset({"partner", "partner_referral", "reference"})
PAID_MEDIUMS = frozenset(
    {"cpc", "ppc", "paid", "paid_search", "paid_social", "display", "retargeting"}
)
PAID_SOURCES = frozenset({"pay per click ads", "google ads", "linkedin ads"})


def classify_lead(values: dict) -> str:
    if values.get("referral_code") or values.get("source") in PARTNER_SOURCES:
        return LeadType.PARTNER_REFERRAL
    form_type = values.get("form_type", "")
    if form_type in HAND_RAISER_FORMS:
        return LeadType.HAND_RAISER
    if form_type in NURTURE_FORMS:
        return LeadType.NURTURE
    if values.get("utm_medium") in PAID_MEDIUMS or values.get("source") in PAID_SOURCES:
        return LeadType.PAID
    return LeadType.ORGANIC
