"""Channel decoders: how per-pixel hidden states become 258-way logits per channel."""
