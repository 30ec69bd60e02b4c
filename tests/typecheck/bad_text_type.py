import textservice

textservice.generate_embeddings("models/e", 3)  # E: call-overload
