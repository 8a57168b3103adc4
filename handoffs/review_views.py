"""The weekly operating review pages: choose a team and week, then read it.

A team the viewer may not see answers 404, as does a week not begun yet in
the team's zone: neither says whether the team exists.
"""

import csv
from datetime import timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from bowtie.access import person_required
from bowtie.dashboard_views import csv_value
from bowtie.visibility import dashboard_teams
from handoffs import operating_review as reviews
from handoffs.charts import target_chart
from handoffs.compliance import Week, last_finished_week
from handoffs.forms import ReviewChoiceForm


@person_required()
def operating_review_list(request, person):
    """The teams the viewer may see, each with its review of the week just ended."""
    now = timezone.now()
    teams = dashboard_teams(person).select_related("head").order_by("name")
    form = ReviewChoiceForm(
        request.GET or None,
        initial={"team": person.team_id},
        teams=teams,
        this_week=Week.of(timezone.localdate(now)),
    )
    if form.is_bound:
        if form.is_valid():
            return redirect(
                "operating-review",
                team_id=form.cleaned_data["team"].pk,
                week=str(form.cleaned_data["week"]),
            )
        for field, errors in form.errors.items():
            messages.error(request, f"{form.fields[field].label}: {' '.join(errors)}")

    rows = [(team, last_finished_week(team, now)) for team in teams]
    return render(
        request,
        "handoffs/operating_review_list.html",
        {
            "form": form,
            "rows": [
                (team, week, reviews.review_path(team, week)) for team, week in rows
            ],
        },
    )


def started_week(text: str, team, now) -> Week:
    """The week of the address, if it exists and has begun in the team's zone."""
    try:
        week = Week.parse(text)
    except ValueError as error:
        raise Http404(str(error)) from error
    today = now.astimezone(ZoneInfo(team.time_zone)).date()
    if week.monday > today:
        raise Http404(f"{week} has not begun yet.")
    return week


@person_required()
def operating_review(request, person, team_id, week):
    team = get_object_or_404(dashboard_teams(person).select_related("head"), pk=team_id)
    now = timezone.now()
    week = started_week(week, team, now)
    review = reviews.operating_review(team, week, now)

    if request.GET.get("format") == "csv":
        return review_csv(review)
    scope = review.scope
    metric_query = urlencode(
        {"team": team.pk, "starts_on": scope.starts_on, "ends_on": scope.ends_on}
    )
    following = week.next
    return render(
        request,
        "handoffs/operating_review.html",
        {
            "review": review,
            "target_chart": target_chart(reviews.target_counts(review.metrics)),
            "trends": reviews.metric_trends(review, now),
            "trend_weeks": reviews.TREND_WEEKS,
            "metric_query": metric_query,
            "last_day": week.monday + timedelta(days=6),
            "previous_path": reviews.review_path(team, week.previous),
            "next_path": reviews.review_path(team, following)
            if following.monday <= now.astimezone(ZoneInfo(team.time_zone)).date()
            else None,
        },
    )


REVIEW_CSV_COLUMNS = [
    "week",
    "team",
    "handoff",
    "metric",
    "key",
    "unit",
    "value",
    "records",
    "previous_value",
    "previous_records",
    "target_minimum",
    "target_maximum",
    "on_target",
    "starts_on",
    "ends_on",
]


def review_csv(review: reviews.OperatingReview) -> HttpResponse:
    """The metrics table of the review, one row per registered metric."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="operating-review-{review.team.pk}-{review.week}.csv"'
    )
    writer = csv.writer(response)
    writer.writerow(REVIEW_CSV_COLUMNS)
    for line in review.metrics:
        target = line.view.target
        writer.writerow(
            [
                str(review.week),
                review.team.name,
                line.handoff_label,
                line.metric.label,
                line.metric.key,
                line.metric.unit,
                csv_value(line.value),
                line.view.reading.count,
                csv_value(line.previous_value),
                line.previous.count,
                csv_value(target.minimum),
                csv_value(target.maximum),
                "" if line.on_target is None else ("yes" if line.on_target else "no"),
                review.scope.starts_on,
                review.scope.ends_on,
            ]
        )
    return response
