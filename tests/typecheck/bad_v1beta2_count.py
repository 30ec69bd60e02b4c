from textservice import v1beta2

v1beta2.count_text_tokens("models/m", "p")  # E: attr-defined
