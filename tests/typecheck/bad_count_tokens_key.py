import textservice

count: str = textservice.count_tokens("models/e", "x")["total_tokens"]  # E: assignment
