"""Outbound networking to destinations a user chose."""
