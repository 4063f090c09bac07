"""What a logged-in user's browser session holds beyond her name: her signing key."""

from __future__ import annotations

import streamlit as st

__all__ = ["signing_key"]


def signing_key() -> bytes | None:
    """The logged-in user's key (derived at her login, kept in this session only): her commands and
    typed-in readings are signed with it, so serve can check who acted (kraamwacht.staffkeys)."""
    key = st.session_state.get("signing_key")
    return key if isinstance(key, bytes) else None
