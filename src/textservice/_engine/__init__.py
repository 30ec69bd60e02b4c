"""Many calls: embedding recipes (``recipes``), the ordered bounded-concurrency map
(``ordered``), output formats (``output_formats``) and the embedding engine (``embed``), which
talks to a client only through the ``CallPath`` protocol of ``textservice._transport``."""
