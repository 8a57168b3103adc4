"""Pages of expansion: the signals list, the account panel's forms, and the
expansion owner's queue and page.

Every write calls `expansion.services`; a refusal comes back as messages
naming the field and the reason, and nothing is stored. The account panel
itself is the `account_signals` tag (`expansion.templatetags.signals`), so the
account page needs one line for it.
"""

import csv
from types import SimpleNamespace

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from bowtie.access import person_required
from expansion import queries
from expansion.api.filters import SignalFilterSet
from expansion.briefs import present_brief
from expansion.forms import (
    ConvertSignalForm,
    DismissSignalForm,
    FlagSignalForm,
    JointMeetingForm,
    SendBackForm,
    StageForm,
    form_errors,
)
from expansion.models import Signal
from expansion.services import (
    SignalRefused,
    accept_expansion,
    can_move_stage,
    can_send_again,
    can_work_expansion,
    convert_signal,
    dismiss_signal,
    move_expansion_stage,
    raise_signal,
    record_joint_meeting,
    send_expansion_again,
    send_expansion_back,
)
from handoffs.account_views import visible_accounts
from handoffs.charts import count_chart
from handoffs.deal_changes import DealChangeRefused
from handoffs.models import Handoff
from handoffs.services import ActionRefused
from handoffs.timeline import handoff_timeline

# Rows the list page shows; the CSV export has them all.
LIST_LIMIT = 200


def account_signals_url(account_id: int) -> str:
    return reverse("account-detail", args=[account_id]) + "#signals"


def tell_refusal(request, refused: ActionRefused) -> None:
    """Each field's reason as its own message, or the refusal as one."""
    errors = getattr(refused, "errors", None)
    if not errors:
        messages.error(request, str(refused))
        return
    for name, texts in errors.items():
        label = name.replace("_", " ").capitalize()
        for text in texts:
            is_field = name != "non_field_errors"
            messages.error(request, f"{label}: {text}" if is_field else text)


def tell_form_errors(request, form) -> None:
    for line in form_errors(form):
        messages.error(request, line)


# Signals


@person_required()
def signal_list(request, person):
    """Signals by kind (the chart), then the signals (the table), CSV export."""
    filters = SignalFilterSet(
        request.GET or None, queryset=queries.visible_signals(person)
    )
    signals = filters.qs if filters.is_bound else filters.queryset
    if request.GET.get("format") == "csv":
        return signals_csv(queries.signals_for_list(signals).order_by("-raised_at"))

    by_kind = queries.count_by_kind(signals)
    rows = list(
        queries.signals_for_list(signals).order_by("-raised_at", "-pk")[:LIST_LIMIT]
    )
    chart_rows = [
        SimpleNamespace(
            label=row["label"],
            signal_count=row["open_count"]
            + row["converted_count"]
            + row["dismissed_count"],
        )
        for row in by_kind
    ]
    query = request.GET.copy()
    query["format"] = "csv"
    context = {
        "filters": filters,
        "signals": rows,
        "by_kind": by_kind,
        "total_count": sum(row.signal_count for row in chart_rows),
        "chart": count_chart(
            [row for row in chart_rows if row.signal_count], "signal_count"
        ),
        "limit": LIST_LIMIT,
        "export_query": query.urlencode(),
    }
    return render(request, "expansion/signal_list.html", context)


def signals_csv(signals) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="signals.csv"'
    writer = csv.writer(response)
    writer.writerow(
        [
            "id",
            "account",
            "kind",
            "category",
            "source",
            "status",
            "raised_at",
            "raised_by",
            "evidence",
            "deal",
            "dismissed_reason",
        ]
    )
    for signal in signals.iterator(chunk_size=500):
        writer.writerow(
            [
                signal.pk,
                signal.account.name,
                signal.kind,
                signal.category,
                signal.source,
                signal.status,
                signal.raised_at.isoformat(),
                signal.raised_by.full_name if signal.raised_by else "",
                signal.evidence,
                signal.deal.name if signal.deal else "",
                signal.dismissed_reason,
            ]
        )
    return response


@require_POST
@person_required()
def signal_flag(request, person, pk):
    """A CSM or account manager flags a signal on the account page."""
    account = get_object_or_404(visible_accounts(person), pk=pk)
    form = FlagSignalForm(request.POST)
    if not form.is_valid():
        tell_form_errors(request, form)
        return redirect(account_signals_url(account.pk))

    try:
        signal = raise_signal(
            account,
            form.cleaned_data["kind"],
            Signal.Source.CSM,
            person,
            evidence=form.cleaned_data["evidence"],
        )
    except ActionRefused as refused:
        tell_refusal(request, refused)
    else:
        if signal.is_repeat:
            messages.info(
                request,
                f"{signal.get_kind_display()} is open already, since "
                f"{signal.raised_at:%d %b %Y}: not raised twice.",
            )
        else:
            messages.success(request, f"Signal flagged: {signal.get_kind_display()}.")
    return redirect(account_signals_url(account.pk))


def get_visible_signal(person, pk) -> Signal:
    return get_object_or_404(
        queries.visible_signals(person).select_related("account"), pk=pk
    )


@require_POST
@person_required()
def signal_dismiss(request, person, pk):
    signal = get_visible_signal(person, pk)
    form = DismissSignalForm(request.POST, prefix=f"dismiss-{signal.pk}")
    if not form.is_valid():
        tell_form_errors(request, form)
        return redirect(account_signals_url(signal.account_id))

    try:
        dismiss_signal(signal, person, form.cleaned_data["reason"])
    except ActionRefused as refused:
        tell_refusal(request, refused)
    else:
        messages.success(request, f"Signal dismissed: {signal.get_kind_display()}.")
    return redirect(account_signals_url(signal.account_id))


@require_POST
@person_required()
def signal_convert(request, person, pk):
    """The CSM turns a signal into an expansion deal; its page opens next."""
    signal = get_visible_signal(person, pk)
    form = ConvertSignalForm(request.POST, prefix=f"convert-{signal.pk}")
    if not form.is_valid():
        tell_form_errors(request, form)
        return redirect(account_signals_url(signal.account_id))

    values = form.cleaned_data
    try:
        conversion = convert_signal(
            signal,
            person,
            values["expansion_type"],
            values["name"],
            form.money(),
            form.litmus_answer(),
        )
    except ActionRefused as refused:
        tell_refusal(request, refused)
        return redirect(account_signals_url(signal.account_id))

    deal = conversion.deal
    messages.success(
        request,
        f"{deal.pipeline} deal “{deal.name}” opened for {deal.owner}, "
        "with the CSM brief.",
    )
    return redirect("expansion-detail", pk=conversion.handoff.pk)


# The expansion owner's side


@person_required()
def expansion_queue(request, person):
    """Expansions handed to the person's side, and those they handed over."""
    handoffs = (
        queries.expansion_handoffs(person)
        .filter(
            state__in=[
                Handoff.State.OPEN,
                Handoff.State.ACCEPTED,
                Handoff.State.REJECTED,
            ]
        )
        .select_related(
            "deal__account", "deal__pipeline", "deal__stage", "sender", "receiver"
        )
        .prefetch_related("milestones")
        .order_by("opened_at", "pk")
        .distinct()
    )
    return render(
        request,
        "expansion/expansion_queue.html",
        {"handoffs": handoffs, "now": timezone.now(), "person": person},
    )


def get_expansion(person, pk) -> Handoff:
    handoff = (
        queries.visible_expansion_handoffs(person)
        .select_related(
            "deal__account",
            "deal__pipeline",
            "deal__stage",
            "deal__owner",
            "deal__expands",
            "sender",
            "receiver",
            "receiving_team",
        )
        .filter(pk=pk)
        .first()
    )
    if handoff is None:
        raise Http404
    return handoff


@person_required()
def expansion_detail(request, person, pk):
    """The expansion deal, its stages, the CSM brief, its clocks and actions."""
    handoff = get_expansion(person, pk)
    deal = handoff.deal
    stages = list(deal.pipeline.stages.all())
    context = {
        "handoff": handoff,
        "deal": deal,
        "stages": stages,
        "signals": Signal.objects.filter(deal=deal).select_related("raised_by"),
        "brief": present_brief(handoff.packet or {}),
        "milestones": handoff.milestones.all(),
        "tasks": handoff.tasks.select_related("owner"),
        "timeline": handoff_timeline(handoff),
        "can_work": can_work_expansion(handoff, person),
        "can_move": can_move_stage(handoff, person),
        "can_send_again": can_send_again(handoff, person),
        "meeting_form": JointMeetingForm(),
        "send_back_form": SendBackForm(),
        "stage_form": StageForm(
            pipeline=deal.pipeline, initial={"stage": str(deal.stage_id)}
        ),
    }
    return render(request, "expansion/expansion_detail.html", context)


def work_expansion(request, person, pk, act, done: str):
    """Run one action of the owner's side on the expansion; say how it went."""
    handoff = get_expansion(person, pk)
    try:
        act(handoff)
    except (SignalRefused, DealChangeRefused) as refused:
        tell_refusal(request, refused)
    except ActionRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, done)
    return redirect("expansion-detail", pk=pk)


@require_POST
@person_required()
def expansion_accept(request, person, pk):
    return work_expansion(
        request,
        person,
        pk,
        lambda handoff: accept_expansion(handoff, person),
        "Expansion accepted: the 48-hour clock stopped.",
    )


@require_POST
@person_required()
def expansion_meeting(request, person, pk):
    form = JointMeetingForm(request.POST)
    if not form.is_valid():
        tell_form_errors(request, form)
        return redirect("expansion-detail", pk=pk)
    meeting_at = form.cleaned_data["meeting_at"]
    return work_expansion(
        request,
        person,
        pk,
        lambda handoff: record_joint_meeting(handoff, person, meeting_at),
        f"Joint meeting noted for {meeting_at:%d %b %Y, %H:%M}.",
    )


@require_POST
@person_required()
def expansion_send_back(request, person, pk):
    reason = request.POST.get("reason", "")
    return work_expansion(
        request,
        person,
        pk,
        lambda handoff: send_expansion_back(handoff, person, reason),
        "Sent back to the CSM.",
    )


@require_POST
@person_required()
def expansion_send_again(request, person, pk):
    return work_expansion(
        request,
        person,
        pk,
        lambda handoff: send_expansion_again(handoff, person),
        "Sent again, with a fresh brief and fresh clocks.",
    )


@require_POST
@person_required()
def expansion_stage(request, person, pk):
    stage = request.POST.get("stage", "")
    return work_expansion(
        request,
        person,
        pk,
        lambda handoff: move_expansion_stage(handoff, person, stage),
        "Stage moved.",
    )
