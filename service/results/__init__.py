"""Result documents: rendering them as PDF (with the fonts of service.fonts), letters, and
issuing them (numbering, signing, handing over to the repository)."""
