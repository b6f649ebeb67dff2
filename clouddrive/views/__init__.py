"""How plans and reports look to people (rich tables) and scripts (JSON); shared by CLI and app."""
