"""`python -m resolve_bridge`: open the MatAnyone panel on Resolve's current clip."""
import sys

from resolve_bridge.launch import main

sys.exit(main())
