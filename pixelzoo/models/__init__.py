"""Models: the RowRNN backbone with its pluggable combiners and decoders, and timm CNNs."""
