"""Logged traffic: the canonical tuple, converters, validation, splits, simulation."""
