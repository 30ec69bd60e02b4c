"""Many calls: embedding recipes (``recipes``), the ordered bounded-concurrency map
(``ordered``), output strategies (``outputs``) and the embedding engine (``embed``), which
talks to a client only through the ``CallPath`` protocol of ``textservice._transport``."""
