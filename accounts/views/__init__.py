"""Thin views: read with selectors, write with services, answer with templates."""
