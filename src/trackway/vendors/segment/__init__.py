"""Segment: the vendor's package. Its declaration, and the text of its page, is vendor.py."""
