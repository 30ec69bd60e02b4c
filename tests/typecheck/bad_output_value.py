import textservice

textservice.generate_embeddings("models/e", "x", output="array")  # E: call-overload
