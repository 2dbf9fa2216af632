"""`python -m hyplora ...` runs the command line (same as the `hyplora` console script)."""
import sys

from .cli import main

sys.exit(main())
