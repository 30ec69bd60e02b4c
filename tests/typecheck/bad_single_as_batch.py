import textservice

one = textservice.generate_embeddings("models/e", "x")
vectors: list[list[float]] = one["embedding"]  # E: assignment
