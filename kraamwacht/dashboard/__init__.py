"""Streamlit board for the tablet of the kraamverzorgende, in Dutch (not built yet)."""
