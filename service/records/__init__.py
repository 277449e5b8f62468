"""What the registers hold about people and businesses: record sources (the database, external
registers over HTTP), prefill of forms, bulk imports, digitised documents and the check of a
submission's data."""
