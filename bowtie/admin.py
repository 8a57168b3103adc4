"""Admin pages for the core domain, laid out for a RevOps admin."""

from django.contrib import admin, messages
from django.db import transaction
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from simple_history.admin import SimpleHistoryAdmin

from bowtie.calendars import (
    announce_calendar_change,
    calendar_for,
    closed_days_ahead,
    next_working_periods,
)
from bowtie.models import (
    Account,
    AccountDomain,
    ApiToken,
    CompanyDayOff,
    Contact,
    Deal,
    Delivery,
    InboundCrmDelivery,
    InboundCrmEndpoint,
    JobHeartbeat,
    Notification,
    NotificationPreference,
    OutOfOffice,
    Person,
    Pipeline,
    Product,
    Stage,
    Team,
    Territory,
    WorkingPeriod,
)
from bowtie.services import (
    change_api_token_rate,
    issue_api_token,
    revoke_api_tokens,
)

admin.site.site_header = "Bowtie administration"
admin.site.site_title = "Bowtie"


class WorkingPeriodInline(admin.TabularInline):
    """A weekly schedule: several periods a day for a break or a split shift."""

    model = WorkingPeriod
    # The owner, team or person, is the page the inline stands on.
    fields = ["weekday", "starts_at", "ends_at"]
    extra = 0


class OutOfOfficeInline(admin.TabularInline):
    model = OutOfOffice
    extra = 0


class CalendarAdminMixin:
    """A preview of the next working periods, and clocks moved on save."""

    @admin.display(description="Next working periods")
    def calendar_preview(self, obj):
        if obj is None or obj.pk is None:
            return "Save first: the preview reads the stored calendar."
        calendar = self.calendar_of(obj)
        now = timezone.now()
        if calendar.is_around_the_clock:
            return "No working hours: clocks count every hour of every day."
        periods = next_working_periods(calendar, now, count=10)
        closed = closed_days_ahead(calendar, now.astimezone(calendar.zone).date())
        return format_html(
            "<p>From {} ({}).</p><ul>{}</ul>{}",
            calendar.source,
            calendar.zone.key,
            format_html_join(
                "",
                "<li>{} {}–{}</li>",
                (
                    (
                        f"{period.starts_at:%a %d %b}",
                        f"{period.starts_at:%H:%M}",
                        f"{period.ends_at:%H:%M}",
                    )
                    for period in periods
                ),
            ),
            format_html(
                "<p>Closed in the next 60 days:</p><ul>{}</ul>",
                format_html_join(
                    "", "<li>{} {}</li>", ((f"{d:%a %d %b %Y}", n) for d, n in closed)
                ),
            )
            if closed
            else "",
        )

    def save_related(self, request, form, formsets, change):
        # Hours, holidays and zone are all saved by now, inside the admin's
        # transaction: the open clocks move with them, or not at all.
        super().save_related(request, form, formsets, change)
        announce_calendar_change(timezone.now(), **self.changed(form.instance))


@admin.register(Team)
class TeamAdmin(CalendarAdminMixin, SimpleHistoryAdmin):
    list_display = ["name", "parent", "head", "distribution", "time_zone"]
    list_filter = ["distribution"]
    search_fields = ["name"]
    autocomplete_fields = ["parent", "head"]
    inlines = [WorkingPeriodInline]
    readonly_fields = ["calendar_preview"]

    def calendar_of(self, team):
        return calendar_for(team=team)

    def changed(self, team):
        return {"teams": [team]}


@admin.register(CompanyDayOff)
class CompanyDayOffAdmin(SimpleHistoryAdmin):
    list_display = ["on", "name", "team"]
    list_filter = ["team"]
    date_hierarchy = "on"

    # The admin's add, change and delete views run in one transaction each.
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        self.announce(obj, form.initial.get("team"))

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        self.announce(obj, None)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            team_ids = set(queryset.values_list("team", flat=True))
            super().delete_queryset(request, queryset)
            if None in team_ids:
                announce_calendar_change(timezone.now(), everyone=True)
            else:
                teams = list(Team.objects.filter(pk__in=team_ids))
                announce_calendar_change(timezone.now(), teams=teams)

    def announce(self, day: CompanyDayOff, former_team_id) -> None:
        # A day moved from one team to another changes both calendars.
        if day.team_id is None or former_team_id is None:
            announce_calendar_change(timezone.now(), everyone=True)
            return
        teams = Team.objects.filter(pk__in={day.team_id, former_team_id})
        announce_calendar_change(timezone.now(), teams=list(teams))


class NotificationPreferenceInline(admin.TabularInline):
    model = NotificationPreference
    extra = 0


@admin.register(JobHeartbeat)
class JobHeartbeatAdmin(admin.ModelAdmin):
    """Read-only: the jobs write their own heartbeats."""

    list_display = ["name", "last_succeeded_at", "last_error", "run_count"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Person)
class PersonAdmin(CalendarAdminMixin, SimpleHistoryAdmin):
    list_display = [
        "full_name",
        "email",
        "role",
        "team",
        "manager",
        "is_active",
        "capacity",
        "time_zone",
    ]
    list_filter = ["role", "team", "is_active"]
    search_fields = ["full_name", "email"]
    autocomplete_fields = ["user", "team", "manager"]
    inlines = [WorkingPeriodInline, OutOfOfficeInline, NotificationPreferenceInline]
    readonly_fields = ["calendar_preview"]

    def calendar_of(self, person):
        return calendar_for(person=person, with_away=True)

    def changed(self, person):
        return {"people": [person]}


@admin.register(Territory)
class TerritoryAdmin(SimpleHistoryAdmin):
    list_display = ["name", "team", "countries"]
    search_fields = ["name"]


class AccountDomainInline(admin.TabularInline):
    model = AccountDomain
    extra = 1


@admin.register(Account)
class AccountAdmin(SimpleHistoryAdmin):
    list_display = ["name", "parent", "owner", "country", "industry", "employee_count"]
    list_filter = ["industry", "country"]
    search_fields = ["name", "domains__domain"]
    autocomplete_fields = ["parent", "owner"]
    inlines = [AccountDomainInline]


@admin.register(Contact)
class ContactAdmin(SimpleHistoryAdmin):
    list_display = ["email", "first_name", "last_name", "account", "job_title"]
    search_fields = ["email", "first_name", "last_name", "external_id"]
    autocomplete_fields = ["account"]


@admin.register(Product)
class ProductAdmin(SimpleHistoryAdmin):
    list_display = ["name", "series", "list_price", "is_active"]
    search_fields = ["name"]


class StageInline(admin.TabularInline):
    model = Stage
    extra = 0


@admin.register(Pipeline)
class PipelineAdmin(SimpleHistoryAdmin):
    list_display = ["name", "kind", "is_default"]
    inlines = [StageInline]


@admin.register(Deal)
class DealAdmin(SimpleHistoryAdmin):
    list_display = ["name", "account", "owner", "stage", "amount", "closed_on"]
    list_filter = ["pipeline", "stage", "is_historical"]
    search_fields = ["name", "external_id", "account__name"]
    autocomplete_fields = ["account", "owner", "product"]
    list_select_related = ["account", "owner", "stage__pipeline"]


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    readonly_fields = ["channel", "status", "attempt_count", "sent_at", "last_error"]
    can_delete = False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["subject", "recipient", "created_at", "read_at"]
    search_fields = ["subject", "recipient__full_name"]
    readonly_fields = [field.name for field in Notification._meta.fields]
    inlines = [DeliveryInline]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "key_prefix",
        "scopes",
        "person",
        "created_at",
        "last_used_at",
        "revoked_at",
        "rate_per_minute",
    ]
    readonly_fields = ["key_prefix", "created_at", "last_used_at"]
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        # Once issued, a token is only revoked or given another rate.
        if obj is None:
            return []
        return [f.name for f in ApiToken._meta.fields if f.name != "rate_per_minute"]

    def get_fields(self, request, obj=None):
        # An issued token shows every field, all read-only but its rate.
        if obj is not None:
            return super().get_fields(request, obj)
        return ["name", "scopes", "person", "rate_per_minute"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # A token for a person acts as them: only a superuser issues one for
        # someone else; other staff only for themselves.
        if db_field.name == "person" and not request.user.is_superuser:
            own = getattr(request.user, "person", None)
            kwargs["queryset"] = Person.objects.filter(pk=own.pk if own else None)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if change:
            change_api_token_rate(obj, obj.rate_per_minute)
            return
        try:
            token, key = issue_api_token(
                obj.name,
                obj.scopes or [],
                getattr(request.user, "person", None),
                rate_per_minute=obj.rate_per_minute,
                person=obj.person,
            )
        except ValueError as error:
            messages.error(request, str(error))
            return
        obj.pk = token.pk
        messages.warning(request, f"Copy this key now, it is not shown again: {key}")

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        revoked = revoke_api_tokens(queryset)
        messages.success(request, f"{revoked} token(s) revoked.")


@admin.register(InboundCrmEndpoint)
class InboundCrmEndpointAdmin(SimpleHistoryAdmin):
    """Where a CRM posts deal updates; the secret is shown to copy into the CRM."""

    list_display = ["name", "slug", "address", "is_active", "created_at"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["address", "created_at"]

    @admin.display(description="Address")
    def address(self, obj):
        return f"/api/crm/inbound/{obj.slug}" if obj and obj.slug else ""


@admin.register(InboundCrmDelivery)
class InboundCrmDeliveryAdmin(admin.ModelAdmin):
    """The delivery log: what each CRM sent and what it was answered."""

    list_display = [
        "delivery_id",
        "endpoint",
        "event_type",
        "outcome",
        "deal",
        "account",
        "contact",
        "received_at",
        "attempt_count",
    ]
    list_filter = ["endpoint", "outcome", "event_type"]
    search_fields = ["delivery_id", "deal__name", "deal__external_id"]
    list_select_related = ["endpoint", "deal", "account", "contact"]

    def get_readonly_fields(self, request, obj=None):
        # A record of what was received: nobody edits it.
        return [field.name for field in InboundCrmDelivery._meta.fields]

    def has_add_permission(self, request):
        return False


# Registered after django-money's exchange admin, which the rates page
# replaces; the webhooks' and the alerts' pages are in modules of their own.
from bowtie import admin_alerts, admin_rates, admin_webhooks  # noqa: E402, F401
