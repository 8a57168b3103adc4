"""The API's rate limit: each token, or signed-in user, gets a number a minute.

One integration stuck in a retry loop must not take the web workers from the
others, so every API view counts its caller's requests (the default throttle
class in REST_FRAMEWORK). A token's own `rate_per_minute` overrides the default
of BOWTIE_API_RATE_PER_MINUTE. Past the rate the answer is 429, and DRF adds
`Retry-After` with the seconds until the oldest counted request leaves the
minute.

The count lives in the default cache, so it holds across web processes only as
far as that cache is shared: see CACHES in settings.
"""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from bowtie.models import ApiToken


def rate_per_minute_of(token: ApiToken | None) -> int | None:
    """Requests a minute the caller may send; None when it is not limited."""
    if token is None or token.rate_per_minute is None:
        return settings.BOWTIE_API_RATE_PER_MINUTE
    return token.rate_per_minute or None


class ApiRateThrottle(SimpleRateThrottle):
    """A sliding minute per caller: a token by its id, a session by its user.

    Authentication and permissions run before throttles, so a request that is
    refused 401 or 403 counts against nobody, and an anonymous one never
    reaches this on the API's views, which all require a caller.
    """

    scope = "api"

    # TODO(api): the count is read and written back without a lock, as in DRF,
    # so requests of one token that arrive together can pass on the same count
    # and a token may exceed its rate by about its number of parallel
    # connections. Fine for a guard against runaway loops; if a rate must ever
    # hold exactly (billing, a contract), count with an atomic increment.

    def get_rate(self):
        # Called from __init__, before the caller is known: the default rate,
        # replaced by the token's own in allow_request.
        return f"{settings.BOWTIE_API_RATE_PER_MINUTE}/m"

    def allow_request(self, request, view):
        token = request.auth if isinstance(request.auth, ApiToken) else None
        allowed = rate_per_minute_of(token)
        self.rate = f"{allowed}/m" if allowed else None
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiToken):
            ident = f"token-{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            return None
        return self.cache_format % {"scope": self.scope, "ident": ident}
