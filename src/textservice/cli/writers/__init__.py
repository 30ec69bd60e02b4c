"""The writers of ``textservice embed``'s results: what every one shares (the steps, resume,
atomic finish) in :mod:`.common`; JSONL (and standard output) in :mod:`.jsonl`, ``.npy`` in
:mod:`.npy`, Parquet in :mod:`.parquet`; :mod:`.destinations` picks one for ``--output``."""
