#!/usr/bin/env python3
"""test_model_llamacpp.py on Gemma 3 270M dequantized to F32, with the issue's targets asserted as
they stand (top-1 >= 99% over 1,024 positions, PPL within 0.5%): without quantized activations the
two runtimes differ only in float summation order. Exit 77 where llama-cpp-python is missing."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_model_llamacpp  # noqa: E402  (skips with 77 itself when llama_cpp is missing)

if __name__ == "__main__":
    sys.exit(test_model_llamacpp.main(["--f32"] + sys.argv[1:]))
