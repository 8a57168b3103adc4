"""The RevOps page of ownership thresholds: /settings/ownership/.

RevOps admins replace the bands from a day on; managers read them. The page
shows the bands in force beside the boundary rule, a bar of the bands over
amounts, the policies to come and every earlier one with who made it and
when, and the deals kept without a rate of creation, which no band can own.
Saving goes through `replace_ownership_policy`: a refusal names every gap
and overlap with its amounts, and nothing is stored.
"""

import csv
from dataclasses import dataclass
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format

from bowtie.access import person_required
from bowtie.exchange import base_currency
from bowtie.governance import (
    BOUNDARY_RULE,
    BandSpec,
    BandsRefused,
    find_start_problems,
    replace_ownership_policy,
)
from bowtie.models import Deal, OwnershipBand, OwnershipPolicy, Person

# Deals listed by name on the page; the count says how many there are.
UNRATED_SHOWN = 50
BLANK_BAND_ROWS = 2


class PolicyForm(forms.Form):
    effective_on = forms.DateField(
        label="Takes effect on",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Tomorrow at the earliest; deals created before keep their bands.",
    )
    note = forms.CharField(
        max_length=OwnershipPolicy._meta.get_field("note").max_length,
        required=False,
        help_text="Why the bands change, for whoever reads this later.",
    )

    def clean_effective_on(self):
        effective_on = self.cleaned_data["effective_on"]
        problems = find_start_problems(effective_on, timezone.now().date())
        if problems:
            raise forms.ValidationError(problems)
        return effective_on


# The blank first choices leave an empty row unchanged, so it is left out.
ROLE_CHOICES = [("", "Choose…"), *Person.Role.choices]
CS_ROLE_CHOICES = [("", "None"), *Person.Role.choices]
CS_PART_CHOICES = [("", "Choose…"), *OwnershipBand.CsPart.choices]


class BandForm(forms.Form):
    lower_eur = forms.DecimalField(
        label="From (included)", max_digits=14, decimal_places=2
    )
    upper_eur = forms.DecimalField(
        label="Up to (excluded)",
        max_digits=14,
        decimal_places=2,
        required=False,
        help_text="Empty: no upper limit.",
    )
    owner_role = forms.ChoiceField(label="Owner", choices=ROLE_CHOICES)
    cs_role = forms.ChoiceField(
        label="CS role", choices=CS_ROLE_CHOICES, required=False
    )
    cs_part = forms.ChoiceField(label="CS part", choices=CS_PART_CHOICES)


BandFormSet = forms.formset_factory(
    BandForm, extra=BLANK_BAND_ROWS, can_delete=True, max_num=20, validate_max=True
)


def band_specs(formset) -> list[BandSpec]:
    """The rows that were filled in and not ticked for removal."""
    specs = []
    for form in formset.forms:
        data = getattr(form, "cleaned_data", None)
        if not data or data.get("DELETE"):
            continue
        specs.append(
            BandSpec(
                lower_eur=data["lower_eur"],
                upper_eur=data["upper_eur"],
                owner_role=data["owner_role"],
                cs_role=data["cs_role"] or "",
                cs_part=data["cs_part"],
            )
        )
    return specs


def band_initial(policy: OwnershipPolicy | None) -> list[dict]:
    if policy is None:
        return []
    return [
        {
            "lower_eur": band.lower_eur,
            "upper_eur": band.upper_eur,
            "owner_role": band.owner_role,
            "cs_role": band.cs_role,
            "cs_part": band.cs_part,
        }
        for band in policy.bands.all()
    ]


@dataclass
class PolicyPages:
    in_force: OwnershipPolicy | None
    upcoming: list[OwnershipPolicy]
    earlier: list[OwnershipPolicy]


def sort_policies(policies: list[OwnershipPolicy], today) -> PolicyPages:
    """Split the policies, newest first, into the one in force, those to come
    (soonest first) and the earlier ones."""
    upcoming = [policy for policy in policies if policy.effective_on > today]
    started = [policy for policy in policies if policy.effective_on <= today]
    return PolicyPages(
        in_force=started[0] if started else None,
        upcoming=upcoming[::-1],
        earlier=started[1:],
    )


# The bar of bands: drawn here as plain SVG, like the dashboards' charts
# need no script and nothing from another site.
CHART_WIDTH = 640
LABEL_WIDTH = 150
ROW_HEIGHT = 34
ROW_GAP = 30
# Share of the bar for the band with no upper limit.
OPEN_TAIL = Decimal("0.18")
ROLE_COLOURS = {"csm": "#3f9d6b", "am": "#3b6fd4", "ae": "#e0863a"}
OTHER_COLOUR = "#7b8794"
SHORT_ROLES = {"csm": "CSM", "am": "AM", "ae": "AE", "sdr": "SDR"}


def amount_label(amount: Decimal) -> str:
    if amount >= 1000 and amount % 1000 == 0:
        return f"{amount / 1000:,.0f}K"
    return f"{amount:,.2f}".removesuffix(".00")


def band_chart(rows: list[tuple[str, OwnershipPolicy]]) -> dict:
    """Bars of each policy's bands over amounts, on one scale.

    Finite bands share the scale up to the highest boundary; the band with
    no upper limit takes a fixed tail, marked "and up".
    """
    boundaries = {
        amount
        for _, policy in rows
        for band in policy.bands.all()
        for amount in (band.lower_eur, band.upper_eur)
        if amount
    }
    highest = max(boundaries, default=Decimal(1))
    bar_width = Decimal(CHART_WIDTH - LABEL_WIDTH - 10)
    finite_width = bar_width * (1 - OPEN_TAIL)

    def x_of(amount):
        return LABEL_WIDTH + float(finite_width * amount / highest)

    drawn = []
    for index, (label, policy) in enumerate(rows):
        top = 10 + index * (ROW_HEIGHT + ROW_GAP)
        segments = []
        for band in policy.bands.all():
            start = x_of(band.lower_eur)
            end = (
                LABEL_WIDTH + float(bar_width)
                if band.upper_eur is None
                else x_of(band.upper_eur)
            )
            upper = "and up" if band.upper_eur is None else amount_label(band.upper_eur)
            segments.append(
                {
                    "x": round(start, 1),
                    "width": round(end - start, 1),
                    "text_x": round((start + end) / 2, 1),
                    "colour": ROLE_COLOURS.get(band.owner_role, OTHER_COLOUR),
                    "short": SHORT_ROLES.get(band.owner_role, band.owner_role),
                    "title": f"{amount_label(band.lower_eur)} – {upper}: "
                    f"{band.get_owner_role_display()}, {band.get_cs_part_display()}",
                    "tick": amount_label(band.lower_eur),
                    "show_text": end - start >= 36,
                }
            )
        drawn.append(
            {
                "label": label,
                "top": top,
                "label_y": top + ROW_HEIGHT / 2 + 5,
                "text_y": top + ROW_HEIGHT / 2 + 5,
                "tick_y": top + ROW_HEIGHT + 16,
                "segments": segments,
            }
        )
    height = 10 + len(rows) * (ROW_HEIGHT + ROW_GAP)
    return {"width": CHART_WIDTH, "height": height, "rows": drawn}


def unrated_deals():
    """Deals kept without a rate of creation: no rate for their currency on
    the day they were created (or changed currency), so no band owns them."""
    return (
        Deal.objects.filter(base_rate__isnull=True, amount_currency__isnull=False)
        .exclude(amount_currency="")
        .order_by("-created_at", "-pk")
    )


@person_required(Person.Role.REVOPS_ADMIN, Person.Role.MANAGER)
def ownership_settings(request, person):
    """Show the ownership bands; RevOps admins also replace them from a day."""
    can_change = person.role == Person.Role.REVOPS_ADMIN
    now = timezone.now()
    policies = list(
        OwnershipPolicy.objects.select_related("created_by").prefetch_related("bands")
    )
    pages = sort_policies(policies, now.date())

    if request.GET.get("format") == "csv":
        return ownership_csv(policies, now.date())

    problems = []
    if request.method == "POST":
        if not can_change:
            raise PermissionDenied
        form = PolicyForm(request.POST)
        formset = BandFormSet(request.POST, prefix="bands")
        if form.is_valid() and formset.is_valid():
            try:
                policy = replace_ownership_policy(
                    band_specs(formset),
                    form.cleaned_data["effective_on"],
                    person,
                    note=form.cleaned_data["note"],
                    now=now,
                )
            except BandsRefused as refused:
                problems = refused.problems
            else:
                messages.success(
                    request,
                    f"Saved: the new bands take effect on {policy.effective_on}.",
                )
                return redirect("ownership-settings")
    else:
        form = PolicyForm()
        formset = BandFormSet(prefix="bands", initial=band_initial(pages.in_force))

    chart_rows = []
    if pages.in_force is not None:
        chart_rows.append(("In force", pages.in_force))
    chart_rows += [
        (f"From {date_format(policy.effective_on, 'j M Y')}", policy)
        for policy in pages.upcoming
    ]
    unrated = unrated_deals()
    return render(
        request,
        "bowtie/ownership.html",
        {
            "pages": pages,
            "chart": band_chart(chart_rows),
            "boundary_rule": BOUNDARY_RULE,
            "currency": base_currency(),
            "can_change": can_change,
            "form": form,
            "formset": formset,
            "problems": problems,
            "unrated_count": unrated.count(),
            "unrated": list(unrated[:UNRATED_SHOWN]),
        },
        status=400 if problems or request.method == "POST" else 200,
    )


def ownership_csv(policies: list[OwnershipPolicy], today) -> HttpResponse:
    """Every policy's bands, one row a band, with who made it and when."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="ownership-bands-{today:%Y-%m-%d}.csv"'
    )
    writer = csv.writer(response)
    code = base_currency()
    writer.writerow(
        [
            "effective_on",
            "state",
            f"lower_{code.lower()}_included",
            f"upper_{code.lower()}_excluded",
            "owner_role",
            "cs_role",
            "cs_part",
            "note",
            "created_by",
            "created_at",
        ]
    )
    pages = sort_policies(policies, today)
    for policy in policies:
        if policy in pages.upcoming:
            state = "upcoming"
        elif policy is pages.in_force:
            state = "in force"
        else:
            state = "earlier"
        for band in policy.bands.all():
            writer.writerow(
                [
                    policy.effective_on.isoformat(),
                    state,
                    f"{band.lower_eur:.2f}",
                    "" if band.upper_eur is None else f"{band.upper_eur:.2f}",
                    band.owner_role,
                    band.cs_role,
                    band.cs_part,
                    policy.note,
                    policy.created_by.email if policy.created_by else "",
                    policy.created_at.isoformat(),
                ]
            )
    return response
