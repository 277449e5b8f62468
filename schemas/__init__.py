"""Marshmallow schemas of the HTTP API; they also feed the OpenAPI document."""
