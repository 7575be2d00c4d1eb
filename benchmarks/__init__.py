"""Benchmarks, one package per question (quality, speed, scale, codegen); the helpers they share sit here."""
