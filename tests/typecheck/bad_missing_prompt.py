import textservice

textservice.generate_text(temperature=0.1)  # E: call-arg
