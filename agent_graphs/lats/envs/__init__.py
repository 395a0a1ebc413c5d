"""Environments the LATS search runs over (see ``base.Environment``)."""
