"""Time travel: run records, who-did-what look-ups, restore and undo plans and their application."""
