"""What Bowtie already knows about a deal, written as packet items.

A live deal's packet starts from this when the AE opens it; a won deal from
an import keeps it as its packet, since nobody will ever fill one in. Each
derived value is a fact from a field, so the brief can point back at it.
"""

from collections import Counter

from bowtie.models import Deal
from bowtie.terms import term_ends_on


def describe_deal_history(deal: Deal, earlier: Counter | None = None) -> str:
    """How the deal came about; `earlier` counts the account's prior outcomes."""
    parts = [deal.name]
    if deal.engaged_on:
        parts.append(f"engaged on {deal.engaged_on:%d %b %Y}")
    if deal.product and deal.product.name not in deal.name:
        parts.append(f"for {deal.product}")
    if deal.amount:
        parts.append(f"at {deal.amount}")
    sentence = ", ".join(parts) + "."
    if deal.owner:
        team = f" ({deal.owner.team})" if deal.owner.team else ""
        sentence += f" Owned by {deal.owner}{team}."
    if deal.external_source:
        sentence += f" From {deal.external_source} as {deal.external_id}."
    if earlier is None:
        return sentence
    if earlier.total():
        sentence += (
            f" Before it the account had {earlier['won']} won and "
            f"{earlier['lost']} lost deals."
        )
    else:
        sentence += " The account's first closed deal."
    return sentence


def prefill_packet(deal: Deal) -> dict:
    """A live deal's starting packet: its history and the account's contacts."""
    stakeholders = []
    if deal.account is not None:
        stakeholders = [
            {"person": str(contact), "role": "", "sentiment": ""}
            for contact in deal.account.contacts.all()[:10]
        ]
    return {"deal_history": describe_deal_history(deal), "stakeholders": stakeholders}


def derive_history_packet(deal: Deal, earlier: Counter) -> dict:
    """The partial packet of an imported won deal, from the export's fields.

    The export knows the deal's dates and the account's parent company, not
    goals, people or promises: those items stay empty and the completeness
    says so.
    """
    packet = {"deal_history": describe_deal_history(deal, earlier)}

    parent = deal.account.parent if deal.account else None
    if parent is not None:
        packet["risks"] = (
            f"{deal.account} is a subsidiary of {parent}: decisions may need the "
            "parent company too."
        )

    events = []
    if deal.engaged_on:
        events.append({"event": "First engaged", "on": deal.engaged_on.isoformat()})
    if deal.closed_on:
        events.append({"event": "Contract signed", "on": deal.closed_on.isoformat()})
        ends_on = term_ends_on(deal.closed_on, deal.term_months)
        events.append({"event": "Term ends", "on": ends_on.isoformat()})
    if events:
        packet["timeline"] = events
    return packet
