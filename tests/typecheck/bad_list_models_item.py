import textservice

for model in textservice.list_models():
    model["dimensions"]  # E: typeddict-item
