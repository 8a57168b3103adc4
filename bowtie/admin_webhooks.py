"""Admin pages of outbound webhooks: the endpoints, and their delivery log.

RevOps sets an endpoint up here and copies its secret into the receiver;
the log shows every delivery with its last answer and replays any of them.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from bowtie import webhooks
from bowtie.models import EventType, WebhookDelivery, WebhookEndpoint


class WebhookEndpointForm(forms.ModelForm):
    event_types = forms.MultipleChoiceField(
        choices=EventType.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="The events this endpoint is sent.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["name", "url", "event_types", "crm_source", "is_active"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(SimpleHistoryAdmin):
    form = WebhookEndpointForm
    list_display = [
        "name",
        "url",
        "is_active",
        "consecutive_failures",
        "disabled_at",
        "delivery_log",
    ]
    list_filter = ["is_active"]
    search_fields = ["name"]
    actions = ["enable"]

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        # Whoever may only look does not see the secret that signs for Bowtie.
        if obj is not None and not self.has_change_permission(request, obj):
            fields = [name for name in fields if name != "secret"]
        return fields

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            # The secret is generated on save; the next page shows it.
            return []
        return [
            "secret",
            "delivery_log",
            "created_by",
            "created_at",
            "disabled_at",
            "disabled_reason",
            "consecutive_failures",
            "failing_since",
        ]

    @admin.display(description="Delivery log")
    def delivery_log(self, obj):
        url = reverse("admin:bowtie_webhookdelivery_changelist")
        return format_html(
            '<a href="{}?endpoint__id__exact={}">Deliveries</a>', url, obj.pk
        )

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = getattr(request.user, "person", None)
        super().save_model(request, obj, form, change)

        if not change:
            messages.info(request, "Copy the secret on this page into the receiver.")
        elif "is_active" in form.changed_data and obj.is_active:
            # Switched on by hand: the old run of failures no longer counts.
            webhooks.enable_endpoints([obj.pk])

    def response_add(self, request, obj, post_url_continue=None):
        response = super().response_add(request, obj, post_url_continue)
        if IS_POPUP_VAR in request.POST:
            return response
        # To the change page, where the generated secret is shown.
        return HttpResponseRedirect(
            reverse("admin:bowtie_webhookendpoint_change", args=[obj.pk])
        )

    @admin.action(
        description="Enable the selected endpoints again", permissions=["change"]
    )
    def enable(self, request, queryset):
        enabled = webhooks.enable_endpoints(list(queryset.values_list("pk", flat=True)))
        messages.success(
            request, f"{enabled} endpoint(s) enabled; pending deliveries resume."
        )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """The delivery log: one row per event and endpoint, with its last answer."""

    list_display = [
        "event_id",
        "event_type",
        "endpoint",
        "status",
        "attempt_count",
        "last_status_code",
        "last_error",
        "next_attempt_at",
        "delivered_at",
    ]
    list_filter = ["status", "endpoint", "event__type"]
    search_fields = ["event__id"]
    list_select_related = ["endpoint", "event"]
    actions = ["replay_selected"]

    def get_readonly_fields(self, request, obj=None):
        # A record of what was sent: replayed, never edited.
        return [field.name for field in WebhookDelivery._meta.fields] + ["body"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="Event type", ordering="event__type")
    def event_type(self, obj):
        return obj.event.type

    @admin.display(description="Body, as sent")
    def body(self, obj):
        return format_html("<pre>{}</pre>", obj.event.body)

    @admin.action(
        description="Replay: send again, same event id and bytes",
        permissions=["change"],
    )
    def replay_selected(self, request, queryset):
        chosen = list(queryset.values_list("pk", flat=True))
        replayed = webhooks.replay(chosen, timezone.now())

        messages.success(request, f"{replayed} delivery(ies) scheduled again.")
        if replayed < len(chosen):
            messages.warning(
                request,
                f"{len(chosen) - replayed} left as they were: their endpoint is "
                "switched off. Enable it first.",
            )
