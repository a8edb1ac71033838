"""Save a randomly initialised model with a given architecture (config.json + tokenizer files) as a local folder.

Used where real weights cannot travel (the GPU check): the CUDA timing and memory paths do not depend on
the weights' values, only on the architecture.

    python benchmarks/random_model.py CONFIG_AND_TOKENIZER_DIR OUT_DIR [--dtype bfloat16]
"""

from __future__ import annotations

import argparse

import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source")
    parser.add_argument("out")
    parser.add_argument("--dtype", default="bfloat16")
    args = parser.parse_args()
    torch.manual_seed(0)
    config = AutoConfig.from_pretrained(args.source)
    model = AutoModelForCausalLM.from_config(config, dtype=getattr(torch, args.dtype))
    model.save_pretrained(args.out)
    AutoTokenizer.from_pretrained(args.source).save_pretrained(args.out)
    print(f"saved a random {config.model_type} with {sum(p.numel() for p in model.parameters()) / 1e6:.0f}M parameters to {args.out}")


if __name__ == "__main__":
    main()
