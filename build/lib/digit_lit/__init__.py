"""digit_lit: MNIST digit classifiers with Lightning + Hydra, and a guard that refuses what it cannot read."""
