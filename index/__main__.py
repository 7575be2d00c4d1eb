"""`python -m index build|add|remove|sync|info|search|mcp ...`: the same commands as `codesearch`."""
import sys

# The stage's entry point only: the library modules of index/ never import a front end.
from codesearch.cli import main

if __name__ == "__main__":
    argv = sys.argv[1:]
    if argv and argv[0] in ("build", "add", "remove", "sync", "info"):
        argv = ["index", *argv]
    sys.exit(main(argv))
