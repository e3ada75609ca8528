"""`python -m plugin` is the `matanyone-plugin` command."""
import sys

try:
    from plugin.cli import main
except KeyboardInterrupt:  # Ctrl-C while Python starts: no traceback
    sys.stderr.write("cancelled.\n")
    sys.exit(130)

sys.exit(main())
