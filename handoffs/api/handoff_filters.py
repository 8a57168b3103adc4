"""Filters of the handoff, milestone and packet template lists.

`updated_since` must catch every change a representation shows, and not all
of them touch a row's own `updated_at`: a handoff embeds its clocks, tasks,
participants and rating, a milestone has no `updated_at` at all, and a
template lists items that have none either. The audit history records every
later save and deletion of those rows, bulk ones included (the sweeper writes
its breaches' history itself), at an indexed time: a change is found there.
The tasks and participants made in bulk as a handoff opens have no history
record, but come with the new handoff's own `updated_at`.
"""

import django_filters
from django.db.models import Exists, OuterRef, Q

from handoffs.models import (
    Handoff,
    HandoffParticipant,
    HandoffRating,
    HandoffTask,
    Milestone,
    PacketItem,
    PacketTemplate,
)


def changed_in_history(model, link: str, since) -> Exists:
    """Whether `model`'s history has a record since `since` for the outer row,
    which its column `link` names."""
    history = model.history.model.objects.filter(
        **{link: OuterRef("pk"), "history_date__gte": since}
    )
    return Exists(history)


class HandoffFilterSet(django_filters.FilterSet):
    updated_since = django_filters.IsoDateTimeFilter(method="filter_updated_since")

    class Meta:
        model = Handoff
        fields = [
            "kind",
            "state",
            "lead",
            "deal",
            "account",
            "sending_team",
            "sender",
            "receiving_team",
            "receiver",
        ]

    def filter_updated_since(self, handoffs, name, since):
        return handoffs.filter(
            Q(updated_at__gte=since)
            | changed_in_history(Milestone, "handoff_id", since)
            | changed_in_history(HandoffTask, "handoff_id", since)
            | changed_in_history(HandoffParticipant, "handoff_id", since)
            | changed_in_history(HandoffRating, "handoff_id", since)
        )


class MilestoneFilterSet(django_filters.FilterSet):
    updated_since = django_filters.IsoDateTimeFilter(method="filter_updated_since")
    met = django_filters.BooleanFilter(
        field_name="met_at", lookup_expr="isnull", exclude=True
    )
    breached = django_filters.BooleanFilter(
        field_name="breached_at", lookup_expr="isnull", exclude=True
    )
    running = django_filters.BooleanFilter(method="filter_running")

    class Meta:
        model = Milestone
        fields = ["handoff", "key", "owed_by", "clock_type"]

    def filter_updated_since(self, milestones, name, since):
        return milestones.filter(changed_in_history(Milestone, "id", since))

    def filter_running(self, milestones, name, is_running):
        running = Q(met_at__isnull=True, breached_at__isnull=True)
        return milestones.filter(running if is_running else ~running)


class PacketTemplateFilterSet(django_filters.FilterSet):
    updated_since = django_filters.IsoDateTimeFilter(method="filter_updated_since")

    class Meta:
        model = PacketTemplate
        fields = ["handoff_kind"]

    def filter_updated_since(self, templates, name, since):
        return templates.filter(
            Q(updated_at__gte=since)
            | changed_in_history(PacketItem, "template_id", since)
        )
