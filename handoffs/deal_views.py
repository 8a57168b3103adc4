"""Pages for the Sales → Implementation handoff: the AE's deal, the receivers'.

The AE fills in the packet on the deal page; each change is saved as a draft
as they type (htmx), with the completeness meter redrawn beside it. Closed
Won goes through `close_deal_won`, which names what is missing. The handoff
page and its actions serve the Implementation → CS handoff too, and the CS
queue lists those for the customer-success team.
"""

from datetime import timedelta

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from bowtie.access import person_required
from bowtie.models import Stage
from handoffs import briefs, involvement, quality
from handoffs.closing import (
    CS_KIND,
    FLOWS,
    KIND,
    PacketIncomplete,
    accept_implementation_handoff,
    assess_deal_packet,
    can_resubmit,
    can_work_received_handoff,
    close_deal_won,
    find_implementation_handoff,
    is_packet_open,
    packet_items,
    rate_handoff,
    record_first_check_in,
    reject_implementation_handoff,
    resubmit_implementation_handoff,
    save_deal_packet,
)
from handoffs.forms import packet_from_post
from handoffs.models import Handoff, HandoffRating, OwedBy
from handoffs.packets import assess_packet
from handoffs.prefill import prefill_packet
from handoffs.queries import (
    dashboard_teams,
    received_handoffs,
    visible_deals,
    visible_handoffs,
)
from handoffs.services import ActionRefused
from handoffs.timeline import handoff_timeline

# Blank rows shown under the filled ones, to add to a list without a script.
BLANK_ROWS = 1

# The kinds whose handoff page takes accept, send back and rate, and where a
# send-back leaves the receiver.
WORKED_KINDS = tuple(FLOWS)
QUEUES = {KIND: "implementation-queue", CS_KIND: "cs-queue"}
ACCEPTED = {
    KIND: "Handoff accepted: the AE briefing clock stopped.",
    CS_KIND: "Handoff accepted: customer success has the account now.",
}


def get_visible_deal(person, pk):
    deals = visible_deals(person).select_related(
        "account", "owner", "stage", "pipeline", "product"
    )
    return get_object_or_404(deals, pk=pk)


def item_views(items, packet: dict, missing_keys: set) -> list[dict]:
    """The template's items with their values, and rows padded with blanks."""
    views = []
    for item in items:
        value = packet.get(item.key)
        view = {"item": item, "is_missing": item.key in missing_keys}
        if item.kind == "rows":
            rows = value if isinstance(value, list) else []
            view["rows"] = [
                {
                    "number": number,
                    "cells": [
                        {"part": part, "value": (row or {}).get(part["key"], "")}
                        for part in item.parts
                    ],
                }
                for number, row in enumerate(rows + [{}] * BLANK_ROWS)
            ]
        else:
            view["value"] = value or ""
        views.append(view)
    return views


def packet_context(deal):
    items = packet_items()
    # A packet nobody started is shown, and measured, as Bowtie prefills it.
    packet = deal.packet or prefill_packet(deal)
    assessment = assess_packet(items, packet)
    missing_keys = {missing.key for missing in assessment.missing}
    sections = []
    for view in item_views(items, packet, missing_keys):
        section = view["item"].section
        if not sections or sections[-1]["name"] != section:
            sections.append({"name": section, "items": []})
        sections[-1]["items"].append(view)
    return {"sections": sections, "assessment": assessment}


@person_required()
def deal_detail(request, person, pk):
    deal = get_visible_deal(person, pk)
    handoff = find_implementation_handoff(deal)
    if request.method == "POST":
        posted = packet_from_post(packet_items(), request.POST)
        try:
            save_deal_packet(deal, posted, person)
        except ActionRefused as refused:
            messages.error(request, str(refused))
            return redirect("deal-detail", pk=pk)
        if request.headers.get("HX-Request"):
            deal.refresh_from_db()
            return render(
                request,
                "handoffs/_completeness.html",
                {"assessment": assess_deal_packet(deal), "deal": deal, "saved": True},
            )
        messages.success(request, "Draft saved.")
        return redirect("deal-detail", pk=pk)

    is_sent_back = handoff is not None and handoff.state == Handoff.State.REJECTED
    context = {
        "deal": deal,
        "is_won": deal.stage.outcome == Stage.Outcome.WON,
        "is_editable": is_packet_open(deal, handoff),
        "is_sent_back": is_sent_back,
        "sender_clocks": handoff.milestones.filter(owed_by=OwedBy.SENDER)
        if is_sent_back
        else [],
        "handoff": handoff,
        **packet_context(deal),
    }
    return render(request, "handoffs/deal_detail.html", context)


@require_POST
@person_required()
def deal_close_won(request, person, pk):
    # partners builds on handoffs, not the reverse: the one step it adds to
    # the close (the partner chosen on the form) is imported here, where the
    # two meet, and nowhere else in handoffs' Python.
    from partners.vendor_views import assign_at_close

    deal = get_visible_deal(person, pk)
    try:
        if deal.stage.outcome == Stage.Outcome.OPEN and not deal.is_historical:
            posted = packet_from_post(packet_items(), request.POST)
            save_deal_packet(deal, posted, person)
        # One transaction for both: a refused assignment leaves the deal open
        # (the draft saved above stays).
        with transaction.atomic():
            result = close_deal_won(deal, person)
            engagement = assign_at_close(result, person, request.POST)
    except PacketIncomplete as refused:
        messages.error(request, "Not closed: the packet lacks required items.")
        for missing in refused.assessment.missing:
            messages.error(request, missing.text)
    except ActionRefused as refused:
        messages.error(request, str(refused))
    else:
        delivery = f", delivered by {engagement.delivered_by}" if engagement else ""
        messages.success(
            request,
            f"Closed won. The implementation handoff is open{delivery}; the renewal "
            f"“{result.renewal.name}” is due {result.renewal.expected_close_on}.",
        )
    return redirect("deal-detail", pk=pk)


@require_POST
@person_required()
def deal_send_again(request, person, pk):
    deal = get_visible_deal(person, pk)
    handoff = find_implementation_handoff(deal)
    if handoff is None or not is_packet_open(deal, handoff):
        messages.error(request, "Nothing to send again: no handoff was sent back.")
        return redirect("deal-detail", pk=pk)
    try:
        save_deal_packet(deal, packet_from_post(packet_items(), request.POST), person)
        resubmit_implementation_handoff(handoff, person)
    except PacketIncomplete as refused:
        messages.error(request, "Not sent: the packet still lacks required items.")
        for missing in refused.assessment.missing:
            messages.error(request, missing.text)
    except ActionRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, "Sent again to implementation, with fresh clocks.")
    return redirect("deal-detail", pk=pk)


@person_required()
def implementation_queue(request, person):
    handoffs = (
        received_handoffs(person, KIND)
        .filter(state__in=[Handoff.State.OPEN, Handoff.State.ACCEPTED])
        .select_related("deal__account", "sender", "receiver")
        .prefetch_related("milestones")
        .order_by("opened_at")
    )
    return render(
        request,
        "handoffs/implementation_queue.html",
        {"handoffs": handoffs, "now": timezone.now()},
    )


@person_required()
def cs_queue(request, person):
    """The customer-success team's handoffs from implementation, oldest first."""
    handoffs = (
        received_handoffs(person, CS_KIND)
        .filter(state__in=[Handoff.State.OPEN, Handoff.State.ACCEPTED])
        .select_related(
            "deal__account", "sender", "receiver", "delivered_engagement__partner"
        )
        .prefetch_related("milestones")
        .order_by("opened_at")
    )
    return render(
        request,
        "handoffs/cs_queue.html",
        {"handoffs": handoffs, "now": timezone.now()},
    )


def received_worked_handoffs(person):
    handoffs = Handoff.objects.none()
    for kind in WORKED_KINDS:
        handoffs |= received_handoffs(person, kind)
    return handoffs


def get_workable_handoff(person, pk) -> Handoff:
    handoff = (
        received_worked_handoffs(person)
        .select_related("deal__account", "deal__owner", "sender", "receiver")
        .filter(pk=pk)
        .first()
    )
    if handoff is None:
        raise Http404
    return handoff


def get_briefable_handoff(person, pk) -> Handoff:
    """The handoff, for its receivers, its sender or whoever may open its deal."""
    handoff = visible_handoffs(person).filter(pk=pk, kind__in=WORKED_KINDS).first()
    if handoff is None:
        raise Http404
    return handoff


@person_required()
def handoff_detail(request, person, pk):
    handoff = get_briefable_handoff(person, pk)
    items = packet_items(handoff.kind)
    rating = HandoffRating.objects.filter(handoff=handoff).first()
    is_cs = handoff.kind == CS_KIND
    context = {
        "handoff": handoff,
        "deal": handoff.deal,
        "flow": FLOWS[handoff.kind],
        "engagement": getattr(handoff, "delivered_engagement", None) if is_cs else None,
        "can_work": can_work_received_handoff(handoff, person),
        # A won deal's handoff is sent again from the deal page, with its packet.
        "can_send_again": is_cs
        and handoff.state == Handoff.State.REJECTED
        and can_resubmit(handoff, person),
        "sections": [
            view
            for view in item_views(items, handoff.packet or {}, set())
            if view.get("value")
            or any(
                cell["value"] for row in view.get("rows", []) for cell in row["cells"]
            )
        ],
        "milestones": handoff.milestones.all(),
        "awaits_check_in": handoff.milestones.filter(
            key="first_check_in", met_at__isnull=True
        ).exists(),
        "timeline": handoff_timeline(handoff),
        "rating": rating,
        "tasks": handoff.tasks.select_related("owner"),
        "participants": handoff.participants.select_related("person"),
        "involvement": involvement.LABELS.get(handoff.involvement, ""),
        "dimensions": [
            (name, label, str(getattr(rating, name)) if rating else "")
            for name, label in HandoffRating.DIMENSIONS
        ],
    }
    return render(request, "handoffs/handoff_detail.html", context)


@require_POST
@person_required()
def handoff_check_in(request, person, pk):
    handoff = get_workable_handoff(person, pk)
    try:
        record_first_check_in(handoff, person)
    except ActionRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, "First check-in recorded: its clock stopped.")
    return redirect("handoff-detail", pk=pk)


@require_POST
@person_required()
def handoff_accept(request, person, pk):
    handoff = get_workable_handoff(person, pk)
    try:
        accept_implementation_handoff(handoff, person)
    except ActionRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, ACCEPTED[handoff.kind])
    return redirect("handoff-detail", pk=pk)


@require_POST
@person_required()
def handoff_reject(request, person, pk):
    handoff = get_workable_handoff(person, pk)
    try:
        reject_implementation_handoff(handoff, person, request.POST.get("reason", ""))
    except ActionRefused as refused:
        messages.error(request, f"Reason: {refused}")
        return redirect("handoff-detail", pk=pk)
    messages.success(
        request, f"Handoff sent back to {FLOWS[handoff.kind].sender_title}."
    )
    return redirect(QUEUES[handoff.kind])


@require_POST
@person_required()
def handoff_send_again(request, person, pk):
    """The implementation lead sends a CS handoff again, its packet completed."""
    handoff = get_briefable_handoff(person, pk)
    if handoff.kind != CS_KIND:
        return redirect("deal-detail", pk=handoff.deal_id)
    try:
        resubmit_implementation_handoff(handoff, person)
    except PacketIncomplete as refused:
        messages.error(request, "Not sent: the CS packet still lacks required items.")
        for missing in refused.assessment.missing:
            messages.error(request, missing.text)
    except ActionRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, "Sent again to customer success, with fresh clocks.")
    return redirect("handoff-detail", pk=pk)


@person_required()
def deal_list(request, person):
    deals = (
        visible_deals(person)
        .filter(is_historical=False)
        .exclude(pipeline__kind="renewals")
        .select_related("account", "owner", "stage")
        .order_by("stage__outcome", "-updated_at")[:200]
    )
    return render(request, "handoffs/deal_list.html", {"deals": deals})


@require_POST
@person_required()
def handoff_rate(request, person, pk):
    handoff = get_workable_handoff(person, pk)
    try:
        rate_handoff(handoff, person, request.POST, request.POST.get("comment", ""))
    except ActionRefused as refused:
        for text in getattr(refused, "errors", {}).values() or [str(refused)]:
            messages.error(request, text)
    else:
        messages.success(request, "Rating saved.")
    return redirect("handoff-detail", pk=pk)


@person_required()
def handoff_quality(request, person):
    """Packet completeness and ratings per AE and team, and the week's lowest."""
    since = timezone.now() - timedelta(days=7)
    report = quality.handoff_quality(dashboard_teams(person), since)
    return render(
        request,
        "handoffs/handoff_quality.html",
        {"report": report, "dimensions": HandoffRating.DIMENSIONS},
    )


@person_required()
def handoff_brief(request, person, pk):
    handoff = get_briefable_handoff(person, pk)
    sections = briefs.handoff_brief(handoff, packet_items(handoff.kind))
    output = request.GET.get("format")
    filename = f"handoff-brief-{handoff.deal_id}"
    if output == "md":
        response = HttpResponse(
            briefs.brief_markdown(handoff, sections),
            content_type="text/markdown; charset=utf-8",
        )
        response["Content-Disposition"] = f'inline; filename="{filename}.md"'
        return response
    if output == "pdf":
        response = HttpResponse(
            briefs.brief_pdf(handoff, sections), content_type="application/pdf"
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}.pdf"'
        return response
    return render(
        request,
        "handoffs/handoff_brief.html",
        {"handoff": handoff, "deal": handoff.deal, "sections": sections},
    )
