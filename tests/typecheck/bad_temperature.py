import textservice

textservice.generate_text(prompt="p", temperature="hot")  # E: arg-type
