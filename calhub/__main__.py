"""``python -m calhub`` is the same as the ``calhub`` command."""

import sys

from calhub.cli import main

if __name__ == "__main__":
    sys.exit(main())
