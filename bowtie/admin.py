"""Admin pages for the core domain, laid out for a RevOps admin."""

from django.contrib import admin, messages
from simple_history.admin import SimpleHistoryAdmin

from bowtie.models import (
    Account,
    AccountDomain,
    ApiToken,
    Contact,
    Deal,
    Delivery,
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
from bowtie.services import issue_api_token, revoke_api_tokens

admin.site.site_header = "Bowtie administration"
admin.site.site_title = "Bowtie"


class WorkingPeriodInline(admin.TabularInline):
    model = WorkingPeriod
    extra = 0


class OutOfOfficeInline(admin.TabularInline):
    model = OutOfOffice
    extra = 0


@admin.register(Team)
class TeamAdmin(SimpleHistoryAdmin):
    list_display = ["name", "parent", "head", "distribution", "time_zone"]
    list_filter = ["distribution"]
    search_fields = ["name"]
    autocomplete_fields = ["parent", "head"]
    inlines = [WorkingPeriodInline]


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
class PersonAdmin(SimpleHistoryAdmin):
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
    search_fields = ["email", "first_name", "last_name"]
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
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    readonly_fields = ["key_prefix", "created_at", "last_used_at"]
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        # Once issued, a token is only ever revoked, never edited.
        return [field.name for field in ApiToken._meta.fields] if obj else []

    def get_fields(self, request, obj=None):
        return None if obj else ["name", "scopes"]

    def save_model(self, request, obj, form, change):
        if change:
            return
        try:
            token, key = issue_api_token(
                obj.name, obj.scopes or [], getattr(request.user, "person", None)
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
