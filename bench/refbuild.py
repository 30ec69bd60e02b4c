"""Build protoc's standard Python/grpcio modules of ``protos/`` for the bench (project venv).

Reuses ``tests/support/reference.py``'s ``build()``: the protos are compiled under a ``tsref/``
prefix into ``OUT``, so the modules never clash with Google's installed client. Prints the folder
to put on ``sys.path`` (modules are ``tsref.google.ai.generativelanguage.<version>.*_pb2``).

Usage: ``.venv/bin/python bench/refbuild.py OUT``
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    out = Path(sys.argv[1]).resolve()
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    sys.path[:0] = [str(REPO), str(REPO / "tests")]
    from support import reference  # tests/support/reference.py

    print(reference.build(out))


if __name__ == "__main__":
    main()
