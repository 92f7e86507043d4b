"""Hydra's configs for digit_lit. A package (this file) so that, installed, Hydra finds them as pkg://digit_lit.conf."""
