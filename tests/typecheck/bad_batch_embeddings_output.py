from textservice import batches

batches.embeddings("batches/b", output="array")  # E: call-overload
array = batches.embeddings("batches/b", output="numpy")
vectors: list[list[float]] = array["embedding"]  # E: assignment
batches.embeddings_async("batches/b", output="pandas")  # E: call-overload
