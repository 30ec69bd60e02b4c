import textservice

textservice.embed_content("models/e", "x", task="query")  # E: call-overload
