"""Durable planning patterns for LangGraph."""
