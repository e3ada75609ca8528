"""The standalone app: a main window around the panel (`matanyone-plugin app [PLATE]`)."""
