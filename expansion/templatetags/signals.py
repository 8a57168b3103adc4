"""The signals panel of the account page.

`{% load signals %}{% account_signals account person %}`: the account's open
signals with the forms to convert or dismiss each, a form to flag a new one,
and the latest signals closed, linked to the expansion they became. The forms
are for customer success, account managers and managers; others see the
signals only. Two queries, however many signals.
"""

from django import template

from expansion.forms import ConvertSignalForm, DismissSignalForm, FlagSignalForm
from expansion.models import Signal
from expansion.queries import signals_for_list
from expansion.services import is_signal_person

register = template.Library()

# Closed signals shown under the open ones; the signals page has the rest.
CLOSED_SHOWN = 5


@register.inclusion_tag("expansion/_account_signals.html")
def account_signals(account, person) -> dict:
    # Django hands an inclusion tag the page's CSRF token; nothing else.
    signals = signals_for_list(Signal.objects.filter(account=account))
    open_signals = list(
        signals.filter(status=Signal.Status.OPEN).order_by("-raised_at", "-pk")
    )
    closed = list(
        signals.exclude(status=Signal.Status.OPEN).order_by("-closed_at", "-pk")[
            :CLOSED_SHOWN
        ]
    )
    can_act = is_signal_person(person)
    rows = [
        {
            "signal": signal,
            "convert_form": ConvertSignalForm(
                prefix=f"convert-{signal.pk}",
                initial={"name": f"{account.name}: {signal.get_kind_display()}"[:200]},
            )
            if can_act
            else None,
            "dismiss_form": DismissSignalForm(prefix=f"dismiss-{signal.pk}")
            if can_act
            else None,
        }
        for signal in open_signals
    ]
    return {
        "account": account,
        "rows": rows,
        "closed": closed,
        "can_act": can_act,
        "flag_form": FlagSignalForm(auto_id="id_flag_%s") if can_act else None,
    }
