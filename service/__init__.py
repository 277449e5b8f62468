"""tokhai: electronic declaration forms, dossiers and signed results.

One subpackage per stage of the pipeline (docs/architecture.md draws the layers):
``web`` (the Flask application and its API), ``records`` (registers, prefill, imports,
digitised documents), ``dossiers`` (intake and the status machine), ``results`` (rendering
and issuing result documents), ``pki`` (keys, timestamps, signing and verification),
``repository`` (the citizens' document repository). Importing this package imports nothing.
"""
