import textservice

textservice.embed_content("models/e", [b"bytes"])  # E: arg-type
