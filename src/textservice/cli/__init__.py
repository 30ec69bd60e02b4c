"""The ``textservice`` command: ``embed``, ``generate-text``, ``count-tokens``, ``fake-server``.

``textservice embed --fake -m models/embedding-gecko-001 -i texts.txt -o out.npy`` runs
against the in-process fake server; drop ``--fake`` and set ``GOOGLE_API_KEY`` for the API.
See ``textservice COMMAND --help`` and docs/cli.md for input rules, resume and exit codes.
"""

from textservice.cli.app import cli, main

__all__ = ["cli", "main"]
