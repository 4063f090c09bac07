"""Emulated wearables and the physiology scenarios that drive them."""
