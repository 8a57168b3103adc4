from bowtie.models.alerts import Alert, Indicator
from bowtie.models.customers import Account, AccountDomain, Contact
from bowtie.models.deals import Deal, Pipeline, Product, Stage, product_lookup_key
from bowtie.models.governance import ExchangeRate, OwnershipBand, OwnershipPolicy
from bowtie.models.idempotency import IdempotencyKey
from bowtie.models.inbound_crm import InboundCrmDelivery, InboundCrmEndpoint
from bowtie.models.measurement import MetricTarget
from bowtie.models.notifications import (
    Delivery,
    Notification,
    NotificationPreference,
    Topic,
)
from bowtie.models.operations import JobHeartbeat
from bowtie.models.organisation import (
    CompanyDayOff,
    OutOfOffice,
    Person,
    Team,
    Territory,
    WorkingPeriod,
)
from bowtie.models.tokens import ApiToken, hash_token_key
from bowtie.models.usage import ProductUsage, Subscription, SupportTicket
from bowtie.models.webhooks import (
    EventType,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

__all__ = [
    "Alert",
    "Indicator",
    "MetricTarget",
    "Account",
    "AccountDomain",
    "ApiToken",
    "CompanyDayOff",
    "Contact",
    "Deal",
    "Delivery",
    "EventType",
    "ExchangeRate",
    "IdempotencyKey",
    "InboundCrmDelivery",
    "InboundCrmEndpoint",
    "JobHeartbeat",
    "Notification",
    "NotificationPreference",
    "OutOfOffice",
    "OwnershipBand",
    "OwnershipPolicy",
    "Person",
    "Pipeline",
    "Product",
    "ProductUsage",
    "Stage",
    "Subscription",
    "SupportTicket",
    "Team",
    "Territory",
    "Topic",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
    "WorkingPeriod",
    "hash_token_key",
    "product_lookup_key",
]
