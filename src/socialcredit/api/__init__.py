"""The HTTP service: scoped API keys and the endpoints under ``/api/v1`` (see docs/api.md).

``keys`` works without the web stack; ``app.create_app`` builds the FastAPI application."""
