"""Scale: the index at 10k to 10M functions, ANN against exact search, distractors, Ray, Milvus, the PyPI corpus."""
