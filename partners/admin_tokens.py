"""Partner tokens in the admin: issue one (its key shown once), list, revoke.

A partner token is issued here, not through the ApiToken admin: that would
make a token with partner scopes but no partner, which reaches nothing. The
list is read-only; a token is never edited or deleted, only revoked, so the
row keeps saying which partner a key belonged to.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import add_never_cache_headers

from partners.models import Partner, PartnerToken
from partners.services import FieldsRefused
from partners.tokens import (
    READ_ONLY,
    READ_WRITE,
    issue_partner_token,
    revoke_partner_tokens,
)


class IssuePartnerTokenForm(forms.Form):
    partner = forms.ModelChoiceField(Partner.objects.filter(is_active=True))
    name = forms.CharField(
        max_length=120, help_text="The partner's system that uses it, e.g. 'Acme PSA'."
    )
    read_only = forms.BooleanField(
        required=False,
        help_text="Only reads engagements (partner:read); without it, it also logs "
        "milestones, readiness and comments (partner:write).",
    )
    rate_per_minute = forms.IntegerField(
        required=False,
        min_value=0,
        help_text="Requests a minute before it is answered 429. Empty: the "
        "default of BOWTIE_API_RATE_PER_MINUTE; 0: not limited.",
    )


@admin.register(PartnerToken)
class PartnerTokenAdmin(admin.ModelAdmin):
    list_display = [
        "token_name",
        "partner",
        "key_prefix",
        "scopes",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["partner"]
    list_select_related = ["token", "partner"]
    search_fields = ["token__name", "partner__name"]
    fields = [
        "token_name",
        "partner",
        "key_prefix",
        "scopes",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    readonly_fields = fields
    actions = ["revoke"]

    @admin.display(description="Token", ordering="token__name")
    def token_name(self, link):
        return link.token.name

    @admin.display(description="Key starts")
    def key_prefix(self, link):
        return f"{link.token.key_prefix}…"

    @admin.display(description="Scopes")
    def scopes(self, link):
        return ", ".join(link.token.scopes)

    @admin.display(description="Created", ordering="token__created_at")
    def created_at(self, link):
        return link.token.created_at

    @admin.display(description="Last used", ordering="token__last_used_at")
    def last_used_at(self, link):
        return link.token.last_used_at

    @admin.display(description="Revoked", ordering="token__revoked_at")
    def revoked_at(self, link):
        return link.token.revoked_at

    def has_add_permission(self, request):
        # Issuing one makes an ApiToken as well.
        return super().has_add_permission(request) and request.user.has_perm(
            "bowtie.add_apitoken"
        )

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_revoke_permission(self, request):
        return request.user.has_perm("bowtie.change_apitoken")

    @admin.action(description="Revoke the selected tokens", permissions=["revoke"])
    def revoke(self, request, queryset):
        revoked = revoke_partner_tokens(queryset)
        messages.success(request, f"{revoked} token(s) revoked.")

    def add_view(self, request, form_url="", extra_context=None):
        """Issue a token: the form, then its key, on this one page only."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = IssuePartnerTokenForm(request.POST if request.method == "POST" else None)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Issue a partner token",
            "form": form,
            "changelist_url": reverse("admin:partners_partnertoken_changelist"),
        }
        if request.method != "POST" or not form.is_valid():
            return TemplateResponse(
                request, "partners/admin/partner_token_issue.html", context
            )

        values = form.cleaned_data
        try:
            token, key = issue_partner_token(
                values["partner"],
                values["name"],
                getattr(request.user, "person", None),
                scopes=READ_ONLY if values["read_only"] else READ_WRITE,
                rate_per_minute=values["rate_per_minute"],
            )
        except FieldsRefused as refused:
            for field, reason in refused.errors.items():
                form.add_error(field if field in form.fields else None, reason)
            return TemplateResponse(
                request, "partners/admin/partner_token_issue.html", context
            )

        self.log_addition(request, token.partner_link, [{"added": {}}])
        response = TemplateResponse(
            request,
            "partners/admin/partner_token_issued.html",
            context | {"title": "Partner token issued", "token": token, "key": key},
        )
        # The key is on this page only: no cache may keep a copy of it.
        add_never_cache_headers(response)
        return response
