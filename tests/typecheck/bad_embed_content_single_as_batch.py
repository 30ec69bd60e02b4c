import textservice

one = textservice.embed_content("models/e", "x")
vectors: list[list[float]] = one["embedding"]  # E: assignment
