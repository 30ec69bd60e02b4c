import textservice

textservice.configure("key", timeout="soon")  # E: arg-type
textservice.configure("key", max_concurency=4)  # E: call-arg
textservice.configure("key", quota_share="half")  # E: arg-type
textservice.configure("key", rpm=10)  # E: call-arg
