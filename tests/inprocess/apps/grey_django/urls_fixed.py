"""The fixed URLconf: the same routes, the internal ones check the staff token."""

from django.urls import include, path, re_path

from grey_django import views

internal = [
    path("users/<int:pk>/", views.user, {"fixed": True}),
    path("exports/<uuid:export_id>/", views.export, {"fixed": True}),
]

urlpatterns = [
    path("", views.index),
    path(
        "api/",
        include(
            [
                path("items/", views.items),
                path("items/<int:pk>/", views.item),
                re_path(r"^categories/(?P<slug>[-\w]+)/$", views.category),
            ]
        ),
    ),
    path("internal/", include(internal)),
]
