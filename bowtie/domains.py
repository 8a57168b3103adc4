"""Registered domains and free-mail providers, for matching leads to accounts.

A registered domain is the part a company buys: `mail.eu.acme.co.uk` belongs to
`acme.co.uk`. The Public Suffix List decides where that boundary is; we use the
snapshot shipped inside `tldextract` so that no request leaves the machine.
"""

from functools import lru_cache

import tldextract

_extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

# Providers whose addresses say nothing about the sender's company. Brands are
# matched on the registrable label under any suffix (yahoo.de, hotmail.co.uk).
FREE_MAIL_BRANDS = frozenset(
    {
        "aol",
        "gmail",
        "gmx",
        "googlemail",
        "hotmail",
        "icloud",
        "outlook",
        "protonmail",
        "yahoo",
        "yandex",
        "ymail",
        "zoho",
    }
)
FREE_MAIL_DOMAINS = frozenset(
    {
        "126.com",
        "163.com",
        "bluewin.ch",
        "btinternet.com",
        "fastmail.com",
        "free.fr",
        "freenet.de",
        "hey.com",
        "laposte.net",
        "libero.it",
        "live.com",
        "mac.com",
        "mail.com",
        "mail.ru",
        "me.com",
        "msn.com",
        "o2.pl",
        "onet.pl",
        "orange.fr",
        "posteo.de",
        "proton.me",
        "qq.com",
        "rediffmail.com",
        "seznam.cz",
        "sky.com",
        "t-online.de",
        "tutanota.com",
        "virgilio.it",
        "wanadoo.fr",
        "web.de",
        "wp.pl",
    }
)


@lru_cache(maxsize=4096)
def registered_domain(host: str) -> str:
    """Return the registered domain of a host name, or "" if it has none."""
    parts = _extract(host.strip().lower().rstrip("."))
    if not parts.domain or not parts.suffix:
        return ""
    return f"{parts.domain}.{parts.suffix}"


def is_free_mail(domain: str) -> bool:
    registered = registered_domain(domain)
    if not registered:
        return False
    brand = registered.split(".", 1)[0]
    return brand in FREE_MAIL_BRANDS or registered in FREE_MAIL_DOMAINS
