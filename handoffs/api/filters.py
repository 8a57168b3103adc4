import django_filters

from handoffs.models import Lead


class LeadFilterSet(django_filters.FilterSet):
    updated_since = django_filters.IsoDateTimeFilter(
        field_name="updated_at", lookup_expr="gte"
    )

    class Meta:
        model = Lead
        fields = ["status", "lead_type", "owner", "team", "email", "channel"]
