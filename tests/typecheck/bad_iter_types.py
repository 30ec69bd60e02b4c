import textservice

batches = textservice.iter_embeddings("models/e", ["x"], output="numpy")
first: list[list[float]] = next(batches)  # E: arg-type
textservice.iter_embeddings("models/e", ["x"], 100)  # E: call-overload
