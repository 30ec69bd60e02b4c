"""Adapters for the frameworks users embed from, each an optional extra:

- ``textservice.adapters.langchain.TextServiceEmbeddings``: a LangChain ``Embeddings``
  (the ``langchain`` extra: langchain-core);
- ``textservice.adapters.llama_index.TextServiceEmbedding``: a LlamaIndex ``BaseEmbedding``
  (the ``llama-index`` extra: llama-index-core).

Both embed documents with the RETRIEVAL_DOCUMENT task type and queries with
RETRIEVAL_QUERY through ``embed_content`` (``textservice.adapters._retrieval``). Importing
this package imports neither framework.
"""
