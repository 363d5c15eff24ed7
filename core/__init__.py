"""Tömning's shared kernel: domain model, settings, errors, topics and storage adapters."""
