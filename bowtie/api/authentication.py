"""Token authentication for integrations: `Authorization: Bearer <key>`."""

from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from rest_framework import authentication, exceptions

from bowtie.models import ApiToken, hash_token_key


class TokenUser(AnonymousUser):
    """The caller of a token request: no session, no Django permissions."""

    def __init__(self, token: ApiToken):
        self.token = token

    @property
    def is_authenticated(self):
        return True

    @property
    def person(self):
        """The person a person's token acts as; None for an integration's.

        Views read `request.user.person` for a session; a person's token
        answers the same, so it sees and does what that person may.
        """
        return self.token.person

    def __str__(self):
        return f"token {self.token.name}"


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keywords = ("bearer", "token")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].decode(errors="ignore").lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Send exactly one token.")

        key = header[1].decode(errors="ignore")
        token = (
            self.get_tokens()
            .filter(key_hash=hash_token_key(key), revoked_at__isnull=True)
            .first()
        )
        if token is None:
            raise exceptions.AuthenticationFailed("Unknown or revoked token.")
        if token.person is not None and not token.person.is_active:
            # Someone who left must not go on acting through a script.
            raise exceptions.AuthenticationFailed("This token's person is inactive.")

        # One write a minute at most: last-used is for humans, not accounting.
        now = timezone.now()
        idle = now - token.last_used_at if token.last_used_at else None
        if idle is None or idle.total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return TokenUser(token), token

    def get_tokens(self):
        """The tokens to look the key up in, with what the caller reads of one.

        An app's own authentication adds its relations here (the partners
        app the partner a token reaches), so they come in the same query.
        """
        return ApiToken.objects.select_related("person")

    def authenticate_header(self, request):
        return 'Bearer realm="bowtie"'


class HasTokenScope:
    """Allow a token only with the view's `required_scope`.

    A signed-in browser session passes only for a user linked to a Person;
    the view then narrows its rows to what that person may see.
    """

    def has_permission(self, request, view):
        token = request.auth if isinstance(request.auth, ApiToken) else None
        if token is not None:
            return token.has_scope(view.required_scope)
        user = request.user
        return bool(user and user.is_authenticated and getattr(user, "person", None))

    def has_object_permission(self, request, view, obj):
        return True
