from django.db import connection
from django.http import JsonResponse


def healthz(request):
    """For load balancers and docker's health check: the app answers and reaches its DB."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
