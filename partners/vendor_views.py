"""Vendor pages about engagements: what the partner logged, seen at once."""

from django.shortcuts import get_object_or_404, render

from bowtie.access import person_required
from partners.actors import actor_for_person
from partners.queries import visible_engagements


@person_required()
def engagement_detail(request, person, pk):
    engagement = get_object_or_404(visible_engagements(actor_for_person(person)), pk=pk)
    return render(
        request, "partners/vendor/engagement_detail.html", {"engagement": engagement}
    )
