"""Fixtures the repository's test modules share."""

from tests.service.repository.test_repository import issued  # noqa: F401 - a result issued to the demo father
