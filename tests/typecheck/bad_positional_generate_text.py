import textservice

textservice.generate_text("models/text-bison-001", "prompt")  # E: call-arg
