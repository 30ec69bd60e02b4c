import textservice

name: str = textservice.count_text_tokens("models/m", "p")["token_count"]  # E: assignment
