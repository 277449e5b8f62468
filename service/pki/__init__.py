"""Signatures, as pyHanko cuts them: the signing configuration and the agencies' keys
(config), time-stamping (timestamps), signing a PDF (signer), verifying one (validation); with
the limits and the sandbox that untrusted PDFs are parsed under, and the development PKI."""
