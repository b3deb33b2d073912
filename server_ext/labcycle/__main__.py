"""``python -m labcycle``: the CLI."""

from .cli.base import main

if __name__ == "__main__":
    main()
