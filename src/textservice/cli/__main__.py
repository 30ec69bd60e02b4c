"""``python -m textservice.cli``: the ``textservice`` command."""

from textservice.cli.app import main

main()
