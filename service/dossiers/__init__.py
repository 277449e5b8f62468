"""Dossiers: intake of a submission, the status machine (states), the officers' moves, events
and lateness."""
