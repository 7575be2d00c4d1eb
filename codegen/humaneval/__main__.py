"""Run `python -m codegen.humaneval ...`."""
import sys

from codegen.humaneval.cli import main

if __name__ == "__main__":
    sys.exit(main())
