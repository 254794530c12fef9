def current_team(request):
    """The team the signed-in user is working in, for the navigation."""
    return {"current_team": getattr(request, "team", None)}
