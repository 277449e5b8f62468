"""Importing a printed form (issue #17): a PDF read into lines and tables (:mod:`.reader`),
then drafted into a form definition for the designer to review."""
