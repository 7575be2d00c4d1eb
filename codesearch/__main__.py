"""`python -m codesearch search|index|mcp ...`: the `codesearch` command."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
