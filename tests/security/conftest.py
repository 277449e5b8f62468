"""Fixtures the attack tests share with the tests of the features they attack."""

from tests.service.repository.test_repository import issued  # noqa: F401 - a result issued to the demo father
