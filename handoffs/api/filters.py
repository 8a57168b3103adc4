import django_filters

from bowtie.models import Deal, Stage
from handoffs.models import Lead


class LeadFilterSet(django_filters.FilterSet):
    updated_since = django_filters.IsoDateTimeFilter(
        field_name="updated_at", lookup_expr="gte"
    )

    class Meta:
        model = Lead
        fields = ["status", "lead_type", "owner", "team", "email", "channel"]


class DealFilterSet(django_filters.FilterSet):
    updated_since = django_filters.IsoDateTimeFilter(
        field_name="updated_at", lookup_expr="gte"
    )
    outcome = django_filters.ChoiceFilter(
        field_name="stage__outcome", choices=Stage.Outcome.choices
    )

    class Meta:
        model = Deal
        fields = [
            "pipeline",
            "stage",
            "owner",
            "account",
            "product",
            "is_historical",
            "external_source",
            "external_id",
        ]
