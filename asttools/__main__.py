"""`python -m asttools`: the same command line as the `asttools` entry point."""

import sys

from .apps.cli import main

if __name__ == "__main__":
    sys.exit(main())
