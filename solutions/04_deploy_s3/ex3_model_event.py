"""Exercise 3: announce a new model with an event, so that automations can react to it.

upload_data.py emits `course.taxi.data.uploaded` once the months are in the bucket, and the deployment
taxi_s3_data has a trigger on that name. Do the same for models: make `announce_model` emit the event
"course.taxi.model.uploaded" about the model's object (the resource `s3://BUCKET/KEY`), with its RMSE
in the payload, and return the event. The UI lists it under Events, and a trigger or an automation could
then match on it: deploy the model, or alert when the RMSE is worse than the last one.
Check with `make check-4`.
"""

from __future__ import annotations

from prefect.events import Event, emit_event

MODEL_EVENT = "course.taxi.model.uploaded"


def announce_model(bucket: str, key: str, rmse: float) -> Event | None:
    # The event is queued and sent in the background: emit_event returns at once, without waiting for
    # the server. It returns None only when this process sends no events (no API configured).
    return emit_event(
        event=MODEL_EVENT,
        resource={"prefect.resource.id": f"s3://{bucket}/{key}"},
        payload={"rmse": rmse},
    )


if __name__ == "__main__":
    from coursekit.services import s3

    print(announce_model(s3.settings().bucket, "models/2023-01_2023-02/trip_duration.skops", 5.0))
