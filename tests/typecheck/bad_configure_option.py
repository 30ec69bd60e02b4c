import textservice

textservice.configure("key", timeout="soon")  # E: arg-type
textservice.configure("key", max_concurency=4)  # E: call-arg
