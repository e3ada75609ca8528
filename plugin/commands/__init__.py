"""Sub-commands of `matanyone-plugin`; each module: `register(subparsers)`, heavy imports inside its handler."""
