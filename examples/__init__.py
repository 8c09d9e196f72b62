"""Runnable examples that sit beside the Thai Nguyen ID provider.

This file makes ``examples`` a regular package so that ``python -m
examples.demo_portal`` and pytest both import the demo under one stable name.
"""
