"""Admin pages of the partners app, laid out for a RevOps admin."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from partners.forms import InviteMemberForm, show_refusal
from partners.invitations import invite_partner_member, resend_invitation
from partners.models import (
    HealthComponent,
    HealthScore,
    HealthWeight,
    Partner,
    PartnerInvitation,
    PartnerMember,
)
from partners.services import FieldsRefused


@admin.register(HealthWeight)
class HealthWeightAdmin(SimpleHistoryAdmin):
    """The five weights, edited in the list; the next score uses them."""

    list_display = ["component", "weight"]
    list_display_links = ["component"]
    list_editable = ["weight"]
    ordering = ["component"]

    def has_add_permission(self, request):
        # One row per component: add only one that was removed.
        stored = HealthWeight.objects.values_list("component", flat=True)
        return set(HealthComponent.values) > set(stored) and super().has_add_permission(
            request
        )

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(HealthScore)
class HealthScoreAdmin(admin.ModelAdmin):
    """The history, to read: scores are written by the scoring only."""

    list_display = ["account", "scored_on", "score", "engagement", "computed_at"]
    list_filter = ["scored_on"]
    search_fields = ["account__name"]
    date_hierarchy = "scored_on"
    list_select_related = ["account", "engagement__deal"]
    readonly_fields = [
        "account",
        "engagement",
        "scored_on",
        "score",
        "components",
        "computed_at",
    ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# Partners and their people. Members are made only by an invitation, so the
# admin shows them read-only and invites through the service.


class MemberInline(admin.TabularInline):
    model = PartnerMember
    extra = 0
    fields = ["full_name", "email", "invited_at", "joined_at", "is_active"]
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Partner)
class PartnerAdmin(SimpleHistoryAdmin):
    list_display = ["name", "slug", "is_active", "member_count", "invite"]
    list_filter = ["is_active"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["invite", "created_at", "updated_at"]
    inlines = [MemberInline]

    @admin.display(description="Members")
    def member_count(self, partner):
        return partner.members.count()

    @admin.display(description="Invite")
    def invite(self, partner):
        if partner is None or partner.pk is None:
            return "Save the partner first, then invite its people."
        url = reverse("admin:partners_partner_invite", args=[partner.pk])
        return format_html('<a class="button" href="{}">Invite a person</a>', url)

    def get_urls(self):
        invite = path(
            "<int:partner_id>/invite/",
            self.admin_site.admin_view(self.invite_view),
            name="partners_partner_invite",
        )
        return [invite, *super().get_urls()]

    def invite_view(self, request, partner_id):
        """Invite a person of this partner by e-mail, through the service."""
        partner = get_object_or_404(Partner, pk=partner_id)
        if not request.user.has_perm("partners.add_partnermember"):
            raise PermissionDenied

        form = InviteMemberForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                member = invite_partner_member(
                    partner,
                    data["email"],
                    data["full_name"],
                    getattr(request.user, "person", None),
                    time_zone=data["time_zone"],
                )
            except FieldsRefused as refused:
                show_refusal(form, refused)
            else:
                messages.success(
                    request,
                    f"{member.full_name} is invited; the e-mail to {member.email} "
                    "is on its way.",
                )
                return redirect("admin:partners_partner_change", partner.pk)

        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "partner": partner,
            "form": form,
            "title": f"Invite a person to {partner}",
        }
        return TemplateResponse(request, "partners/admin/invite_member.html", context)


class InvitationInline(admin.TabularInline):
    model = PartnerInvitation
    extra = 0
    fields = [
        "status",
        "created_at",
        "sent_at",
        "attempt_count",
        "claimed_until",
        "last_error",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PartnerMember)
class PartnerMemberAdmin(SimpleHistoryAdmin):
    """A partner's people, to read; invite them from their partner's page."""

    list_display = [
        "full_name",
        "email",
        "partner",
        "invited_at",
        "joined_at",
        "is_active",
    ]
    list_filter = ["partner", "is_active"]
    search_fields = ["full_name", "email"]
    list_select_related = ["partner"]
    readonly_fields = [
        "user",
        "partner",
        "full_name",
        "email",
        "time_zone",
        "invited_by",
        "invited_at",
        "joined_at",
        "is_active",
    ]
    inlines = [InvitationInline]
    actions = ["resend"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Resend the invitation")
    def resend(self, request, queryset):
        person = getattr(request.user, "person", None)
        sent = 0
        for member in queryset.select_related("partner"):
            try:
                resend_invitation(member, person)
            except FieldsRefused as refused:
                messages.warning(request, f"{member.email}: {refused}")
            else:
                sent += 1
        if sent:
            messages.success(request, f"{sent} invitation(s) on their way again.")


# The engagement pages (read-only) and the token pages live in their own modules.
from partners import admin_engagements, admin_tokens  # noqa: E402, F401
