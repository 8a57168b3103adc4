from expansion.models.renewals import RenewalAction
from expansion.models.signals import Signal, SignalKind, SignalRule

__all__ = ["RenewalAction", "Signal", "SignalKind", "SignalRule"]
