"""The CS packet's section on an engagement page, in either area.

The partner area and the vendor's engagement page show the same
"Hand-over to customer success" section and take the same three posts:
save the packet, hand it over now, send it again once customer success sent
it back. Both read the form item by item as the deal page reads the sales
packet (`handoffs.forms.packet_from_post`), start from Bowtie's proposals for
the items still empty, and call `partners.handover` with their own actor;
who may do what is the services' to say.
"""

from dataclasses import dataclass

from handoffs.closing import CS_KIND, FLOWS, PacketIncomplete, packet_items
from handoffs.deal_views import item_views
from handoffs.forms import packet_from_post
from handoffs.models import Handoff
from handoffs.packets import filled
from handoffs.services import ActionRefused
from partners.actors import Actor
from partners.handover import (
    assess_cs_packet,
    hand_over_to_cs,
    prefill_cs_packet,
    resubmit_cs_handoff,
    save_cs_packet,
)
from partners.models import Engagement

# The three posts of the section: each saves the packet as typed first, as
# the deal page's Closed Won does.
SAVE = "save"
HAND_OVER = "hand_over"
SEND_AGAIN = "send_again"

NOT_HANDED_OVER = (
    f"Not handed over: {FLOWS[CS_KIND].packet_needed} What you typed is saved; "
    "complete the items marked below."
)
NOT_SENT_AGAIN = (
    f"Not sent again: {FLOWS[CS_KIND].packet_needed} What you typed is saved; "
    "complete the items marked below."
)
NOT_COMPLETE = {HAND_OVER: NOT_HANDED_OVER, SEND_AGAIN: NOT_SENT_AGAIN}
DONE = {
    HAND_OVER: "Handed over to customer success: their clocks are running.",
    SEND_AGAIN: "Sent again to customer success, with fresh clocks.",
}


@dataclass
class CsPacketPost:
    """A refused post of the CS packet: the packet as typed, and why."""

    packet: dict
    refusal: str


class CsPacketRefused(ActionRefused):
    """A post of the section refused; `post` puts it back on the page."""

    def __init__(self, post: CsPacketPost):
        self.post = post
        super().__init__(post.refusal)


def post_cs_packet(engagement: Engagement, actor: Actor, data, action: str) -> str:
    """Save the packet as posted, then hand it over or send it again if asked.

    Returns what to tell the person. A refusal raises `CsPacketRefused`
    with the packet as typed; a hand-over or send-again refused keeps the
    draft saved. `Engagement.DoesNotExist` passes through, for a partner's
    caller on another partner's engagement.
    """
    packet = packet_from_post(packet_items(CS_KIND), data)
    try:
        assessment = save_cs_packet(engagement, actor, packet)
        if action == HAND_OVER:
            hand_over_to_cs(engagement, actor)
        elif action == SEND_AGAIN:
            resubmit_cs_handoff(engagement, actor)
    except PacketIncomplete as refused:
        raise CsPacketRefused(
            CsPacketPost(packet, NOT_COMPLETE.get(action, str(refused)))
        ) from refused
    except ActionRefused as refused:
        raise CsPacketRefused(CsPacketPost(packet, str(refused))) from refused

    if action in DONE:
        return DONE[action]
    return f"CS packet saved: {assessment.completeness} % complete."


def cs_packet_section(engagement: Engagement, posted: CsPacketPost | None = None):
    """The hand-over to customer success, from go-live on; None before.

    While the packet is drafted (in hypercare, or sent back by customer
    success): each item as saved, Bowtie's proposals in the ones still
    empty, and what the packet lacks; after a refused post, the packet
    exactly as typed, each item with its gap. Once customer success has it:
    the handoff's state and its packet, read-only.
    """
    handoff = engagement.cs_handoff
    is_sent_back = handoff is not None and handoff.state == Handoff.State.REJECTED
    refusal = posted.refusal if posted else ""
    items = packet_items(CS_KIND)
    if handoff is not None and not is_sent_back:
        packet = handoff.packet or {}
        entries = [brief_entry(item, packet.get(item.key)) for item in items]
        return {
            "is_open": False,
            "handoff": handoff,
            "entries": [entry for entry in entries if entry],
            "refusal": refusal,
        }
    if (
        engagement.status != Engagement.Status.HYPERCARE
        and not is_sent_back
        and posted is None
    ):
        return None

    typed = posted.packet if posted else engagement.cs_packet or {}
    proposals = {} if posted else cs_packet_proposals(engagement, typed)
    # Measured as saved: a proposal counts once someone saves it. What is
    # missing is listed above the form, and put on its items once a post is
    # refused for it.
    assessment = assess_cs_packet(typed)
    gaps = {missing.key: missing.text for missing in assessment.missing}
    views = item_views(items, typed | proposals, set(gaps))
    for view in views:
        view["gap"] = gaps.get(view["item"].key, "") if posted else ""
        view["is_proposal"] = view["item"].key in proposals
    return {
        "is_open": True,
        "is_sent_back": is_sent_back,
        "handoff": handoff,
        "items": views,
        "assessment": assessment,
        "proposal_count": len(proposals),
        "refusal": refusal,
    }


def brief_entry(item, value) -> dict | None:
    """A packet item to read: rows as a table with the template's columns,
    text as it was typed; None for an empty one."""
    if item.kind == "rows":
        rows = [
            [str(row.get(part["key"]) or "") for part in item.parts]
            for row in (value if isinstance(value, list) else [])
            if isinstance(row, dict) and any(row.values())
        ]
        if not rows:
            return None
        return {
            "label": item.label,
            "key": item.key,
            "columns": [part["label"] for part in item.parts],
            "rows": rows,
        }
    text = str(value or "").strip()
    if not text:
        return None
    return {"label": item.label, "key": item.key, "text": text}


def cs_packet_proposals(engagement: Engagement, packet: dict) -> dict:
    """Bowtie's values for the CS packet's items that `packet` leaves empty.

    Only items `prefill_cs_packet` has something for: a proposal is shown,
    marked as one, until someone saves the packet with it.
    """
    return {
        key: value
        for key, value in prefill_cs_packet(engagement).items()
        if is_empty_item(packet.get(key)) and not is_empty_item(value)
    }


def is_empty_item(value) -> bool:
    """Nothing typed: blank text, or no row with anything in it."""
    if isinstance(value, list):
        return not any(
            isinstance(row, dict) and any(filled(part) for part in row.values())
            for row in value
        )
    return not filled(value)
