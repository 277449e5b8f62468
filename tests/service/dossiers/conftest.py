from tests.service.dossiers.clock import clock

__all__ = ["clock"]
