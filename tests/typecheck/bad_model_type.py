import textservice

textservice.generate_embeddings(42, "x")  # E: call-overload
