"""The CS -> Sales handoff's actions on /api/handoffs, through its services.

The handoff API is one route for every kind; this module tells it which of
`expansion.services` each action calls for an expansion, the same services
as the buttons of the expansion page, so the rules hold alike on both:

- `accept`: `accept_expansion`, by the owner's side (the receiver, their
  team, its head and those who manage it);
- `reject`: `send_expansion_back` to the CSM, with the reason;
- `resubmit`: `send_expansion_again`, by the CSM who sent it or their
  manager, with a fresh brief;
- `complete`: `complete_expansion`, the deal closed won or lost by its
  owner or their manager, which completes the handoff.

An expansion takes no rating: its page has none. Registered from
`ExpansionConfig.ready()`, because the handoffs app, on which this one
builds, does not import it.
"""

from rest_framework.exceptions import ValidationError

from expansion.api.views import refusal
from expansion.services import (
    KIND,
    accept_expansion,
    can_move_stage,
    can_send_again,
    can_work_expansion,
    complete_expansion,
    send_expansion_again,
    send_expansion_back,
)
from handoffs.api.handoff_actions import Action, KindActions, register
from handoffs.deal_changes import DealChangeRefused
from handoffs.services import ActionRefused

OWNERS_SIDE = "Only the expansion owner's side works this handoff."
CSM_SIDE = "Only the CSM who sent it, or their manager, sends it again."
DEAL_OWNER = "Only the deal's owner, or their manager, closes it."


def answer_refusal(refused: ActionRefused) -> Exception:
    """403 for who, 400 for what: by field, and a closed deal's packet gate
    with its `missing` items."""
    if isinstance(refused, DealChangeRefused):
        missing = [{"key": item.key, "text": item.text} for item in refused.missing]
        return ValidationError(
            refused.errors | ({"missing": missing} if missing else {})
        )
    return refusal(refused)


def register_actions() -> None:
    register(
        KIND,
        KindActions(
            actions={
                "accept": Action(accept_expansion, can_work_expansion, OWNERS_SIDE),
                "reject": Action(send_expansion_back, can_work_expansion, OWNERS_SIDE),
                "resubmit": Action(send_expansion_again, can_send_again, CSM_SIDE),
                "complete": Action(complete_expansion, can_move_stage, DEAL_OWNER),
            },
            answer_refusal=answer_refusal,
        ),
    )
