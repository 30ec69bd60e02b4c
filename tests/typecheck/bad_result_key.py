import textservice

textservice.generate_text(prompt="p")["results"]  # E: typeddict-item
