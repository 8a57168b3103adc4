def current_person(request):
    """Expose the signed-in user's Person (or None) to every template."""
    user = getattr(request, "user", None)
    person = getattr(user, "person", None) if user and user.is_authenticated else None
    return {"current_person": person}
