import textservice

textservice.iter_embed_content("models/e", ["x"], normalize="yes")  # E: call-overload
