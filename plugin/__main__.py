"""`python -m plugin` is the `matanyone-plugin` command."""
import sys

from plugin.cli import main

sys.exit(main())
