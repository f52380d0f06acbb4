# views.py and urls.py: plain Django views protected by the guard.
from django.http import JsonResponse
from django.urls import path

from authgate.guard.django import requires_auth

DRINKS = [{"id": 1, "title": "water", "recipe": [{"name": "water", "parts": 1}]}]


# The verified claims come first, then what Django passes.
@requires_auth("get:drinks-detail")
def drinks_detail(claims, request):
    return JsonResponse({"drinks": DRINKS, "reader": claims.sub})


# Async views too; any_of= needs one of the permissions.
@requires_auth(any_of=["patch:drinks", "delete:drinks"])
async def drink_admin(claims, request, drink_id):
    return JsonResponse({"id": drink_id, "may": sorted(claims.permissions)})


# With GuardMiddleware: the claims of a request that sent a token, else None.
def whoami(request):
    claims = request.auth_claims
    return JsonResponse({"sub": claims.sub if claims else None})


urlpatterns = [
    path("drinks-detail", drinks_detail),
    path("drinks/<int:drink_id>", drink_admin),
    path("whoami", whoami),
]
