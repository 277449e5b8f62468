"""Importing a printed form's PDF as a draft definition (nothing is stored)."""

from marshmallow import Schema, fields


class ImportFindingSchema(Schema):
    path = fields.String(metadata={
        "description": "Where in the draft the finding applies (a path such as "
                       "sections[0].fields[2].type; empty for the whole form)"})
    code = fields.String(metadata={"description": "Stable and machine-readable"})
    message = fields.String(metadata={"description": "For the designer, in Vietnamese"})
    message_en = fields.String()
    confidence = fields.Float(allow_none=True, metadata={
        "description": "How sure the guess is, from 0 to 1 (null: not a guess)"})


class FormImportSchema(Schema):
    yaml = fields.String(required=True, metadata={
        "description": "The draft definition in the form language; it passes "
                       "`tokhai forms check`, low-confidence guesses carry a `# ĐOÁN: …` "
                       "comment. Create the draft by sending it to POST /api/v1/forms"})
    definition = fields.Dict(required=True, metadata={"description": "The draft as data"})
    findings = fields.List(fields.Nested(ImportFindingSchema), required=True, metadata={
        "description": "What the designer must review: guesses with their confidence, what "
                       "was dropped and why, text read by OCR"})
    from_ocr = fields.Boolean(required=True, metadata={
        "description": "The PDF had no text layer: its text was read by OCR (Tesseract, "
                       "Vietnamese)"})
