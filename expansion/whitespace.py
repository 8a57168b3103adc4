"""Whitespace: the active products an account has never won.

Won deals count whether they were closed here or imported as history; a
product RevOps switched off is no whitespace, however the account stands.
"""

from bowtie.models import Account, Deal, Product, Stage


def won_products(account: Account):
    won = Deal.objects.filter(
        account=account, stage__outcome=Stage.Outcome.WON, product__isnull=False
    )
    return Product.objects.filter(pk__in=won.values("product")).order_by("name")


def find_whitespace(account: Account) -> list[Product]:
    """Active products the account has no won deal for, by name."""
    owned = won_products(account).values("pk")
    return list(Product.objects.filter(is_active=True).exclude(pk__in=owned))
