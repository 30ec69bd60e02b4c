import textservice

arrays = textservice.generate_embeddings("models/e", ["x"], output="numpy")
vectors: list[list[float]] = arrays["embedding"]  # E: assignment
