"""The bow-tie dashboard: every handoff's metrics beside their targets.

Charts first, each linking to the records behind it; the numbers as CSV; the
definitions of every number; and the targets RevOps edits.
"""

import csv
from decimal import Decimal
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from bowtie import measurement
from bowtie.access import person_required
from bowtie.dashboard import read_metric, read_sections
from bowtie.dashboard_forms import ScopeForm
from bowtie.models import MetricTarget, Person
from bowtie.targets import TargetRefused, set_target, targets_for

RECORDS_PER_PAGE = 50
TARGET_CHANGES_SHOWN = 20
CSV_CHUNK = 2000


def scope_form(request, person: Person, now) -> ScopeForm:
    form = ScopeForm(request.GET or None, person=person, today=now.date())
    if request.GET and not form.is_valid():
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            messages.error(request, f"{label or field}: {' '.join(errors)}")
    return form


def refused_export(form: ScopeForm) -> HttpResponse:
    """A CSV asked for with bad filters: the reasons, not the default figures."""
    lines = [
        f"{form.fields[field].label if field in form.fields else field}: "
        + " ".join(errors)
        for field, errors in form.errors.items()
    ]
    return HttpResponse(
        "\n".join(["The export was not made:", *lines]) + "\n",
        status=400,
        content_type="text/plain; charset=utf-8",
    )


def is_refused_export(request, form: ScopeForm) -> bool:
    return (
        request.GET.get("format") == "csv" and bool(request.GET) and not form.is_valid()
    )


def filter_query(request, **extra) -> str:
    """The page's filters as a query string, for links that keep them."""
    kept = {
        key: value
        for key, value in request.GET.items()
        if key in ScopeForm.base_fields and value
    }
    return urlencode({**kept, **extra})


def describe_scope(scope, form: ScopeForm) -> str:
    team = form.cleaned_data.get("team") if form.is_bound and form.is_valid() else None
    segment = dict(measurement.Segment.choices).get(scope.segment)
    parts = [f"{scope.starts_on:%d %b %Y} – {scope.ends_on:%d %b %Y} (UTC days)"]
    parts.append(str(team) if team else "every team you may see")
    if segment:
        parts.append(segment)
    return ", ".join(parts)


@person_required()
def dashboard(request, person, handoff=None):
    if handoff is not None and handoff not in measurement.Handoff.labels:
        raise Http404("No such handoff.")
    now = timezone.now()
    form = scope_form(request, person, now)
    if is_refused_export(request, form):
        return refused_export(form)
    scope = form.scope()
    sections = read_sections(scope, now, handoff)

    if request.GET.get("format") == "csv":
        return dashboard_csv(sections, scope)
    return render(
        request,
        "bowtie/dashboard.html",
        {
            "page": "dashboard",
            "form": form,
            "scope": scope,
            "scope_text": describe_scope(scope, form),
            "sections": sections,
            "handoff": handoff,
            "handoffs": measurement.Handoff.choices,
            "query": filter_query(request),
            "csv_query": filter_query(request, format="csv"),
        },
    )


def csv_value(value) -> str:
    """A figure for a spreadsheet: four places at most, "" when unknown."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    return f"{round(value, 4):g}" if isinstance(value, float) else str(value)


def dashboard_csv(sections, scope) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="bowtie-dashboard-{scope.starts_on}-{scope.ends_on}.csv"'
    )
    writer = csv.writer(response)
    writer.writerow(
        [
            "handoff",
            "metric",
            "key",
            "value",
            "unit",
            "records",
            "target_minimum",
            "target_maximum",
            "on_target",
            "starts_on",
            "ends_on",
        ]
    )
    for section in sections:
        for view in section.views:
            on_target = view.on_target
            writer.writerow(
                [
                    section.label,
                    view.metric.label,
                    view.metric.key,
                    csv_value(view.reading.value),
                    view.metric.unit,
                    view.reading.count,
                    csv_value(view.target.minimum),
                    csv_value(view.target.maximum),
                    "" if on_target is None else ("yes" if on_target else "no"),
                    scope.starts_on,
                    scope.ends_on,
                ]
            )
    return response


def registered_metric(key: str) -> measurement.Metric:
    if key not in measurement.REGISTRY:
        raise Http404("No such metric.")
    return measurement.metric(key)


@person_required()
def metric_records(request, person, key):
    """One metric: its chart, its definition and the records behind it."""
    metric = registered_metric(key)
    now = timezone.now()
    form = scope_form(request, person, now)
    if is_refused_export(request, form):
        return refused_export(form)
    scope = form.scope()
    records = metric.records(scope, now)

    if request.GET.get("format") == "csv":
        return records_csv(metric, records, scope)
    view = read_metric(metric, scope, now, targets_for([metric])[metric.key])
    page = Paginator(records.rows, RECORDS_PER_PAGE).get_page(request.GET.get("page"))
    rows = [
        ([column.value(row) for column in records.columns], records.url_of(row))
        for row in page.object_list
    ]
    return render(
        request,
        "bowtie/dashboard_records.html",
        {
            "page": "dashboard",
            "form": form,
            "scope_text": describe_scope(scope, form),
            "view": view,
            "metric": metric,
            "handoff_label": measurement.Handoff.labels[metric.handoff],
            "columns": [column.header for column in records.columns],
            "rows": rows,
            "page_obj": page,
            "query": filter_query(request),
            "csv_query": filter_query(request, format="csv"),
        },
    )


class Echo:
    """A file that hands back what is written, for streamed CSV."""

    def write(self, value):
        return value


def records_csv(metric, records, scope) -> StreamingHttpResponse:
    writer = csv.writer(Echo())

    def lines():
        yield writer.writerow([column.header for column in records.columns])
        for row in records.rows.iterator(chunk_size=CSV_CHUNK):
            yield writer.writerow(
                [csv_value(column.value(row)) for column in records.columns]
            )

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="{metric.key}-{scope.starts_on}-{scope.ends_on}.csv"'
    )
    return response


@person_required()
def metric_definitions(request, person):
    chosen = measurement.metrics()
    targets = targets_for(chosen)
    sections = [
        (
            label,
            [
                (metric, targets[metric.key].describe(metric.unit))
                for metric in chosen
                if metric.handoff == key
            ],
        )
        for key, label in measurement.Handoff.choices
    ]
    return render(
        request,
        "bowtie/metric_definitions.html",
        {"page": "metric-definitions", "sections": sections},
    )


@person_required()
def metric_targets(request, person):
    """Every metric's target; RevOps admins may change them."""
    chosen = measurement.metrics()
    may_edit = person.role == Person.Role.REVOPS_ADMIN
    errors: dict[str, dict[str, str]] = {}
    if request.method == "POST":
        if not may_edit:
            messages.error(request, "Only RevOps admins change targets.")
            return redirect("metric-targets")
        changed = 0
        for metric in chosen:
            low = request.POST.get(f"{metric.key}-minimum", "")
            high = request.POST.get(f"{metric.key}-maximum", "")
            current = targets_for([metric])[metric.key]
            if (low, high) == (
                bound_text(current.minimum),
                bound_text(current.maximum),
            ):
                continue
            try:
                set_target(metric.key, low, high, person, timezone.now())
                changed += 1
            except TargetRefused as refusal:
                errors[metric.key] = refusal.errors
        if not errors:
            messages.success(
                request, f"{changed} target{'s' if changed != 1 else ''} saved."
            )
            return redirect("metric-targets")
        messages.error(request, "Some targets were not saved; see the reasons below.")

    targets = targets_for(chosen)
    rows = [
        {
            "metric": metric,
            "handoff": measurement.Handoff.labels[metric.handoff],
            "suffix": measurement.Unit.suffixes[metric.unit].strip(),
            "minimum": request.POST.get(f"{metric.key}-minimum")
            if metric.key in errors
            else bound_text(targets[metric.key].minimum),
            "maximum": request.POST.get(f"{metric.key}-maximum")
            if metric.key in errors
            else bound_text(targets[metric.key].maximum),
            "default": metric.target.describe(metric.unit),
            "errors": errors.get(metric.key, {}),
        }
        for metric in chosen
    ]
    changes = MetricTarget.history.select_related("history_user").order_by(
        "-history_date"
    )[:TARGET_CHANGES_SHOWN]
    return render(
        request,
        "bowtie/metric_targets.html",
        {
            "page": "metric-targets",
            "rows": rows,
            "may_edit": may_edit,
            "changes": changes,
        },
    )


def bound_text(bound) -> str:
    return "" if bound is None else f"{bound.normalize():f}"
