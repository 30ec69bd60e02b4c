"""The adapters' shared options are typed (``RetrievalOptions``): wrong ones fail mypy."""

from textservice.adapters.langchain import TextServiceEmbeddings
from textservice.adapters.llama_index import TextServiceEmbedding

TextServiceEmbeddings("models/gemini-embedding-001", normalize=True, output_dimensionality=8)
TextServiceEmbeddings(nromalize=True)  # E: call-arg
TextServiceEmbeddings(output_dimensionality="8")  # E: arg-type
TextServiceEmbedding(num_workers=2, normalize=True, title_key="title")
TextServiceEmbedding(normalize="yes")  # E: arg-type
TextServiceEmbedding(query_task_type=1.5)  # E: arg-type
