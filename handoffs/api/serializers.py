from rest_framework import serializers

from handoffs.models import Lead


class LeadSerializer(serializers.ModelSerializer):
    owner = serializers.SerializerMethodField()
    team = serializers.SerializerMethodField()
    due_at = serializers.SerializerMethodField()
    routing_reason = serializers.SerializerMethodField()
    account = serializers.SerializerMethodField()

    class Meta:
        model = Lead
        fields = [
            "id",
            "email",
            "first_name",
            "last_name",
            "company_name",
            "country",
            "language",
            "lead_type",
            "status",
            "cycle",
            "touch_count",
            "owner",
            "team",
            "account",
            "score",
            "fit_score",
            "intent_score",
            "third_party_score",
            "due_at",
            "routing_reason",
            "received_at",
            "first_response_at",
            "closed_at",
            "updated_at",
        ]

    def get_owner(self, lead):
        if lead.owner is None:
            return None
        return {
            "id": lead.owner.pk,
            "name": lead.owner.full_name,
            "email": lead.owner.email,
        }

    def get_team(self, lead):
        return {"id": lead.team.pk, "name": lead.team.name} if lead.team else None

    def get_account(self, lead):
        if lead.account is None:
            return None
        return {"id": lead.account.pk, "name": lead.account.name}

    def get_due_at(self, lead):
        # Listed leads carry the annotation, even when it is None (no clock).
        if hasattr(lead, "first_response_due_at"):
            due = lead.first_response_due_at
        else:
            from handoffs.queries import first_response_due_at

            due = first_response_due_at(lead)
        return serializers.DateTimeField().to_representation(due) if due else None

    def get_routing_reason(self, lead):
        # A lead fresh from intake carries the reason of its only decision.
        if hasattr(lead, "routing_reason"):
            return lead.routing_reason
        # all() reads the view's prefetch; the model orders newest first.
        decisions = list(lead.decisions.all())
        return decisions[0].reason if decisions else None
