"""The tablet board (Streamlit) for the kraamverzorgende, in Dutch or English, and the mother's own page in six languages."""
