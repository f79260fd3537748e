from django.urls import path

from predictor.apis import LatestPredictionsApi, PredictionListApi

urlpatterns = [
    path("predictions/", PredictionListApi.as_view(), name="prediction-list"),
    path("predictions/latest/", LatestPredictionsApi.as_view(), name="prediction-latest"),
]
