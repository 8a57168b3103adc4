"""Apply an update that names its deal by the CRM's id: imports and CRM webhooks.

A CRM knows a deal by its own id, not Bowtie's, and knows nothing of Bowtie's
accounts, people or packets; so these doors find the deal by external source
and id and change only the fields a CRM owns. They never create a deal: one
that Bowtie does not know arrives through the API, with its owner and
account, and an update for it is refused by name rather than guessed at.
"""

from bowtie.models import Deal
from handoffs.deal_changes import DealChange, DealChangeRefused, change_deal

SYNCED_FIELDS = (
    "name",
    "stage",
    "amount",
    "currency",
    "expected_close_on",
    "term_months",
)


class UnknownDeal(DealChangeRefused):
    """No deal has this external id; nothing was created."""


def find_synced_deal(external_source: str, external_id: str) -> Deal | None:
    if not external_source or not external_id:
        return None
    return Deal.objects.filter(
        external_source=external_source, external_id=external_id
    ).first()


def change_synced_deal(
    external_source, external_id, values: dict, *, source: str, now=None
) -> DealChange:
    """Change the deal the CRM calls `external_id`; refuse other fields by name."""
    errors = {
        name: [f"Not synced from a CRM; it takes {', '.join(SYNCED_FIELDS)}."]
        for name in values
        if name not in SYNCED_FIELDS
    }
    for name, value in (
        ("external_source", external_source),
        ("external_id", external_id),
    ):
        if not isinstance(value, str) or not value.strip():
            errors[name] = ["Give the deal's id in its source system."]
    if errors:
        raise DealChangeRefused(errors)

    deal = find_synced_deal(external_source.strip(), external_id.strip())
    if deal is None:
        raise UnknownDeal(
            {
                "external_id": [
                    f"No deal has the id {external_id.strip()!r} from "
                    f"{external_source.strip()!r}; updates do not create deals."
                ]
            },
            is_conflict=True,
        )

    return change_deal(deal, values, source=source, now=now)
