"""The citizens' and organisations' document repository: archiving issued documents, who may
read what, the access log (documents), and retention periods (retention)."""
