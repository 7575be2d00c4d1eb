"""HumanEval / HumanEval-X: problems, per-language programs, toolchains, generation, the pass@k harness."""
