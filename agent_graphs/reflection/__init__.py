"""Reflection: a generate <-> critique loop that keeps the best draft (see ``graph``)."""
