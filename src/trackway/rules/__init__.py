"""Shared value rules: amounts, identifiers, currencies, countries, phones, hashes.

Every rule has the signature ``rule(value, path, issues) -> converted value``, and
returns :data:`INVALID` after recording an error. Rules never raise on input.
"""
