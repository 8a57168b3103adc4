"""Recognise a country from how people and exports write it.

pycountry knows the ISO 3166 names and codes; the aliases add the spellings
found in real forms and CRM exports (UK, USA, Deutschland, Philipines).
"""

import pycountry

COUNTRY_ALIASES = {
    "uk": "GB",
    "u.k.": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "great britain": "GB",
    "usa": "US",
    "u.s.": "US",
    "u.s.a.": "US",
    "united states of america": "US",
    "deutschland": "DE",
    "schweiz": "CH",
    "österreich": "AT",
    "espana": "ES",
    "españa": "ES",
    "russia": "RU",
    "south korea": "KR",
    "korea": "KR",
    "uae": "AE",
    "philipines": "PH",
}


def recognise_country(text: str) -> str | None:
    """Return the ISO 3166 alpha-2 code for a country name or code."""
    alias = COUNTRY_ALIASES.get(text.casefold())
    if alias:
        return alias
    try:
        return pycountry.countries.lookup(text).alpha_2
    except LookupError:
        return None
