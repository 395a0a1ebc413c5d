"""Tests of the reflection graph."""
