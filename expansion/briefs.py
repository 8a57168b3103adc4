"""The CSM brief: what the expansion owner needs to know about the account.

Generated when a signal becomes an expansion deal, and again when the CSM
sends a handoff back, as the packet of the CS -> Sales handoff (the "CSM
brief" template of handoffs migration 0025): health, usage, stakeholders and
whitespace. Every figure is read as of a day, so the brief says what the CSM
saw then, and a later import does not rewrite it.

- Health: the account's latest score (partners' `HealthScore`) and its trend
  against the score about 30 days before, with the measured components.
- Usage: paid seats on open subscriptions and the share on subscriptions used
  in the last 30 days (the proxy `expansion.rules` uses), days with use in the
  last 30 days against the 30 before, and the features used.
- Stakeholders: the stakeholder map of the deal the expansion grows from, then
  the account's contacts the map does not name, whose role and sentiment are
  not known yet: the brief leaves them blank rather than guess, and the
  packet's check names them as missing.
- Whitespace: the active products the account has never won.
"""

from datetime import date, timedelta

from bowtie.models import Account, Deal
from expansion import rules
from expansion.whitespace import find_whitespace, won_products
from handoffs.models import Handoff, PacketItem
from handoffs.packets import assess_packet
from partners.models import HealthComponent, HealthScore

WINDOW_DAYS = 30
TREND_DAYS = 30


def build_csm_brief(account: Account, expands: Deal | None, on: date) -> dict:
    """The packet of the CS -> Sales handoff, item by item, as of `on`."""
    return {
        "health": describe_health(account, on),
        "usage": describe_usage(account, on),
        "stakeholders": list_stakeholders(account, expands),
        "whitespace": describe_whitespace(account),
    }


def describe_health(account: Account, on: date) -> str:
    scores = HealthScore.objects.filter(account=account, scored_on__lte=on)
    latest = scores.order_by("-scored_on").first()
    if latest is None:
        return f"No health score for {account} yet."
    if latest.score is None:
        return (
            f"Not measurable on {latest.scored_on:%d %b %Y}: none of its "
            "components had data."
        )

    text = f"Health {latest.score} of 100 on {latest.scored_on:%d %b %Y}"
    earlier = (
        scores.filter(
            scored_on__lte=latest.scored_on - timedelta(days=TREND_DAYS),
            score__isnull=False,
        )
        .order_by("-scored_on")
        .first()
    )
    if earlier is not None:
        change = latest.score - earlier.score
        trend = "up" if change > 0 else "down" if change < 0 else "unchanged"
        amount = f" {abs(change)}" if change else ""
        text += (
            f", {trend}{amount} from {earlier.score} on {earlier.scored_on:%d %b %Y}"
        )
    measured = [
        f"{label.lower()} {latest.components[name]['value']}"
        for name, label in HealthComponent.choices
        if (latest.components.get(name) or {}).get("value") is not None
    ]
    if measured:
        text += f". Measured: {', '.join(measured)}"
    return text + "."


def describe_usage(account: Account, on: date) -> str:
    facts = rules.load_facts(on, 2 * WINDOW_DAYS, account_ids=[account.pk]).get(
        account.pk
    )
    if facts is None:
        return f"No usage data for {account}: its product data is not connected."

    window, before = rules.windows_of(on, WINDOW_DAYS)
    lines = []
    subscribed = rules.paid_open(facts.subscriptions, on)
    seat_count = sum(sub.seats for sub in subscribed)
    if seat_count:
        used = {use.subscription_id for use in facts.usage if window.holds(use.used_on)}
        in_use = sum(sub.seats for sub in subscribed if sub.pk in used)
        lines.append(
            f"Seats: {seat_count} paid on {len(subscribed)} open subscription(s); "
            f"{in_use} ({rules.percent(in_use, seat_count)} %) on subscriptions "
            f"used in the {WINDOW_DAYS} days to {on:%d %b %Y}."
        )
    else:
        lines.append(f"Seats: no paid subscription open on {on:%d %b %Y}.")

    day_count = len({use.used_on for use in facts.usage if window.holds(use.used_on)})
    before_count = len(
        {use.used_on for use in facts.usage if before.holds(use.used_on)}
    )
    lines.append(
        f"Active days: {day_count} in the {WINDOW_DAYS} days to {on:%d %b %Y}, "
        f"{before_count} in the {WINDOW_DAYS} days before."
    )

    features = sorted({use.feature for use in facts.usage if window.holds(use.used_on)})
    earlier = {use.feature for use in facts.usage if before.holds(use.used_on)}
    if features:
        new = [feature for feature in features if feature not in earlier]
        lines.append(
            f"Features used: {', '.join(features)}"
            + (f"; new since the window before: {', '.join(new)}." if new else ".")
        )
    else:
        lines.append(f"Features used: none in the {WINDOW_DAYS} days.")
    return "\n".join(lines)


def person_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def list_stakeholders(account: Account, expands: Deal | None) -> list[dict]:
    """The won deal's stakeholder map, then the contacts it does not name."""
    rows = []
    mapped = (expands.packet or {}).get("stakeholders") if expands else None
    for row in mapped if isinstance(mapped, list) else []:
        if isinstance(row, dict) and str(row.get("person") or "").strip():
            rows.append(
                {
                    "person": str(row["person"]).strip(),
                    "role": str(row.get("role") or ""),
                    "sentiment": str(row.get("sentiment") or ""),
                }
            )

    named = {person_key(row["person"]) for row in rows}
    for contact in account.contacts.order_by("last_name", "first_name", "pk"):
        name = str(contact)
        if person_key(name) in named:
            continue
        title = f", {contact.job_title}" if contact.job_title else ""
        rows.append({"person": f"{name}{title}", "role": "", "sentiment": ""})
    return rows


def describe_whitespace(account: Account) -> str:
    owned = [product.name for product in won_products(account)]
    open_products = [product.name for product in find_whitespace(account)]
    owns = f"Owns: {', '.join(owned)}." if owned else "Has won no product yet."
    if open_products:
        return f"Not yet bought: {', '.join(open_products)}. {owns}"
    if owned:
        return f"Owns every active product. {owns}"
    return "No active products are kept in Bowtie yet."


def present_brief(packet: dict) -> dict:
    """The brief's items as the page shows them, with what is still unknown."""
    items = list(
        PacketItem.objects.filter(template__handoff_kind=Handoff.Kind.CS_TO_SALES)
    )
    assessment = assess_packet(items, packet)
    sections = []
    for item in items:
        value = packet.get(item.key)
        view = {"item": item}
        if item.kind == PacketItem.Kind.ROWS:
            view["rows"] = [
                [str((row or {}).get(part["key"]) or "") for part in item.parts]
                for row in (value if isinstance(value, list) else [])
            ]
        else:
            view["lines"] = str(value or "").splitlines()
        sections.append(view)
    return {"sections": sections, "assessment": assessment}
