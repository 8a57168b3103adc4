"""Which service each handoff action of the API calls, kind by kind.

`/api/handoffs/<id>/accept` and the other actions are one route for every
kind, so that a CRM works a handoff by its id whatever it hands over, as it
reads it; routes of the expansion API's own would make it learn which app
works which kind. What an action does differs by kind.

Each kind that is worked over the API registers its services here: the won
deal's handoff to implementation and the implementation's to customer
success below, with `handoffs.closing`; the CS -> Sales handoff from the
expansion app (`expansion.api.handoff_actions`), whose services build on
this app's and so may not be imported by it. A kind names only the actions
it takes; the others answer 400 saying which it does.

An action's service takes the handoff, the acting person and the action's
values, and raises `ActionRefused` for what the rules refuse; `may_act` is
asked first, so that a person outside the side that works the handoff is
answered 403 before any value is read.
"""

from collections.abc import Callable
from dataclasses import dataclass

from handoffs.closing import (
    FLOWS,
    accept_implementation_handoff,
    can_resubmit,
    can_work_received_handoff,
    rate_handoff,
    reject_implementation_handoff,
    resubmit_implementation_handoff,
)
from handoffs.models import Handoff
from handoffs.services import ActionRefused

ONLY_RECEIVERS = "Only the receiving team works this handoff."


@dataclass(frozen=True)
class Action:
    """One action of one kind: its service, and who may take it."""

    service: Callable
    may_act: Callable[[Handoff, object], bool]
    # The 403's words for anyone else.
    only: str


@dataclass(frozen=True)
class KindActions:
    """The actions one kind of handoff takes over the API, by name."""

    actions: dict[str, Action]
    # A refusal of the kind's services as the API answers it (an exception
    # for DRF to answer); None leaves it to the handoff viewset.
    answer_refusal: Callable[[ActionRefused], Exception] | None = None


KINDS: dict[str, KindActions] = {}


def register(kind: str, actions: KindActions) -> None:
    """Let the API work `kind` with these actions; again replaces them."""
    KINDS[kind] = actions


def actions_of(kind: str) -> KindActions | None:
    return KINDS.get(kind)


def not_taken(handoff: Handoff, name: str) -> str:
    """Why this handoff does not take the action `name`, and what it takes."""
    kind = handoff.get_kind_display()
    actions = actions_of(handoff.kind)
    if actions is None:
        return (
            f"{kind} handoffs are not worked over the API; a lead's handoff is "
            "worked on the lead."
        )
    taken = ", ".join(sorted(actions.actions))
    return f"{kind} handoffs do not take `{name}`; they take {taken}."


def closing_actions(kind: str) -> KindActions:
    """A won deal's handoff to implementation, or an implementation's to CS."""
    only_sender = FLOWS[kind].only_sender
    return KindActions(
        actions={
            "accept": Action(
                accept_implementation_handoff, can_work_received_handoff, ONLY_RECEIVERS
            ),
            "reject": Action(
                reject_implementation_handoff, can_work_received_handoff, ONLY_RECEIVERS
            ),
            "resubmit": Action(
                resubmit_implementation_handoff, can_resubmit, only_sender
            ),
            "rate": Action(rate_handoff, can_work_received_handoff, ONLY_RECEIVERS),
        }
    )


for closing_kind in FLOWS:
    register(closing_kind, closing_actions(closing_kind))
