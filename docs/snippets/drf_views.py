# Django REST framework views: request.auth holds the verified claims.
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from authgate.guard.drf import HasAnyPermission, HasPermission


class Drinks(APIView):
    # DRF makes the permission instances itself: .of() returns a class.
    permission_classes = (HasPermission.of("post:drinks"),)

    def post(self, request):
        claims = request.auth
        return Response({"title": request.data["title"], "by": claims.sub}, status=201)


class Drink(APIView):
    permission_classes = (HasAnyPermission.of("patch:drinks", "delete:drinks"),)

    def delete(self, request, drink_id):
        # request.user is a TokenUser: the token's subject, no database row.
        return Response({"deleted": drink_id, "by": request.user.username})


urlpatterns = [
    path("drinks", Drinks.as_view()),
    path("drinks/<int:drink_id>", Drink.as_view()),
]
