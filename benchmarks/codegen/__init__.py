"""The code generator: perplexity, int8, training and sampling speed, the HumanEval-X harness and retrieval."""
