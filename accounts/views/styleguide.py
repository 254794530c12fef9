from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


@staff_member_required
def styleguide(request: HttpRequest) -> HttpResponse:
    """Every shared CSS component on one page, for the people building the other pages."""
    return render(request, "accounts/styleguide.html")
