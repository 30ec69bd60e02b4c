"""The writers of ``textservice embed``'s results: JSONL (and standard output) in
:mod:`.jsonl`, ``.npy`` in :mod:`.npy`, Parquet in :mod:`.parquet`; :mod:`.destinations`
picks one for ``--output``."""
