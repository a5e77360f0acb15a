"""Readers of legacy directory-tree repositories: templates, registries, validity, mapper.

A legacy repository keeps files in a tree named by %-format templates, with SQLite
registries beside it; these modules read it without changing anything.
"""
