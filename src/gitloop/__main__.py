"""Entry point for ``python -m gitloop``."""

from gitloop.cli.main import main

main()
