import textservice

many = textservice.generate_embeddings("models/e", ["x"])
vector: list[float] = many["embedding"]  # E: assignment
