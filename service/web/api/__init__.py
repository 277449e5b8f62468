"""HTTP blueprints. Views parse the request, call an operation in ``service``, and shape the
response; they hold no domain logic."""
