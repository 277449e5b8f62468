"""The form language: definitions of declaration forms, their compilation to JSON Schema,
and the trimming report that measures how much typing the state's records save."""
