"""Revision scripts, one folder (one history) per store."""
