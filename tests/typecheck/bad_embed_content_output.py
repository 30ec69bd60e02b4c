import textservice

textservice.embed_content("models/e", "x", output="array")  # E: call-overload
