"""The board's words: Dutch is the source text, English the translation (gettext style: the Dutch
sentence is the key, so the code reads in the language of its users)."""

from __future__ import annotations

__all__ = ["EN", "_", "message", "translate"]

EN: dict[str, str] = {
    "Overzicht": "Overview",
    "ook": "also",
    "Meldingen": "Alerts",
    "Cliënt": "Client",
    "Onderzoek": "Research",
    "Gebruikersnaam": "User name",
    "Wachtwoord": "Password",
    "Inloggen": "Log in",
    "Uitloggen": "Log out",
    "Ingelogd": "Logged in",
    "Taal": "Language",
    "Gebruikersnaam of wachtwoord klopt niet.": "User name or password is wrong.",
    "Uw sessie is verlopen. Log opnieuw in.": "Your session has expired. Please log in again.",
    "Te veel onjuiste pogingen. Probeer het opnieuw na {tijd}.": "Too many wrong attempts. Try again after {tijd}.",
    "Kan niet herafspelen": "Cannot replay",
    "regel": "line",
    "Beslissingsondersteuning, geen gecertificeerd medisch hulpmiddel.": "Decision support, not a certified medical device.",
    "kraamwacht is beslissingsondersteuning, geen gecertificeerd medisch hulpmiddel.": "kraamwacht is decision support, not a certified medical device.",
    "Geen lopende zorgperiodes. Een beheerder voegt ze toe (kraamwacht episode add).": "No care episodes in progress. An administrator adds them (kraamwacht episode add).",
    "Geen lopende zorgperiodes.": "No care episodes in progress.",
    "Temperatuur": "Temperature",
    "Huidtemperatuur (sensor)": "Skin temperature (sensor)",
    "Hartslag": "Heart rate",
    "niet actueel": "not current",
    "6 uur": "6 hours",
    "24 uur": "24 hours",
    "hele kraamperiode": "whole episode",
    "Periode": "Period",
    "Pagina van de moeder": "The mother's page",
    "Risicofactoren en richtlijn": "Risk factors and guideline",
    "Risicofactoren (AAP 2022)": "Risk factors (AAP 2022)",
    "Richtlijn": "Guideline",
    "Risicofactoren opslaan": "Save risk factors",
    "Taal van de folder": "Language of the handout",
    "Folder (PDF)": "Handout (PDF)",
    "Nieuwe code (de oude link werkt dan niet meer)": "New code (the old link stops working)",
    "DRINGEND": "URGENT",
    "LET OP": "WARNING",
    "TECHNISCH": "TECHNICAL",
    "in orde": "ok",
    "IN ORDE": "OK",
    "Geluid aan": "Sound on",
    "Browsers spelen pas geluid af na een tik.": "Browsers play sound only after a tap.",
    "Geen open meldingen.": "No open alerts.",
    "gezien door": "acknowledged by",
    "gesnoozed": "snoozed",
    "Gezien": "Acknowledge",
    "Snooze": "Snooze",
    "Notitie": "Note",
    "Notitie opslaan": "Save note",
    "Geschiedenis": "History",
    "Opgeslagen": "Saved",
    "Thermometer en pols": "Thermometer and pulse",
    "Temperatuur °C": "Temperature °C",
    "Pols /min (0 = niet gemeten)": "Pulse /min (0 = not measured)",
    "Opslaan": "Save",
    "geen": "none",
    "Niet gelukt": "Did not work",
    "Moeder": "Mother",
    "Baby: bilirubine": "Baby: bilirubin",
    "Nog geen metingen van de moeder.": "No measurements from the mother yet.",
    "Temperatuur (oksel) met haar eigen basislijn": "Temperature (armpit) with her own baseline",
    "Open meldingen": "Open alerts",
    "Geen.": "None.",
    "Tijdlijn": "Timeline",
    "Waarde": "Value",
    "Eenheid": "Unit",
    "Methode": "Method",
    "Plaats": "Site",
    "Opslaan en advies": "Save and advise",
    "Niet opgeslagen": "Not saved",
    "Upload een opgenomen stroom (CSV zoals `kraamwacht replay` leest) en de labels (CSV).": "Upload a recorded stream (CSV as `kraamwacht replay` reads it) and the labels (CSV).",
    "Uitvoeren": "Run",
    "Gevoeligheid": "Sensitivity",
    "Mediane voorsprong": "Median lead time",
    "Vals alarm per dag": "False alarms per day",
    "Opname bekijken": "Show a recording",
    "Overdracht": "Handover",
    "Baby": "Baby",
    "Voor de verloskundige, de kinderarts en de JGZ: FHIR R4 (JSON) en één pagina (PDF).": "For the midwife, the paediatrician and youth health care: FHIR R4 (JSON) and one page (PDF).",
    "Overdracht maken": "Make the handover",
    "Geen overdracht": "No handover",
    "Zonder meldingen: het logboek van serve is op deze machine niet te vinden.": "Without alerts: serve's event log is not on this machine.",
    "FHIR-bundel (JSON)": "FHIR bundle (JSON)",
    "Samenvatting (PDF)": "Summary (PDF)",
    "meldingsgebeurtenissen": "alert events",
    "Temperatuur, hartslag, basislijnen, meldingen en labels": "Temperature, heart rate, baselines, alerts and labels",
}


def translate(text: str, lang: str) -> str:
    return EN.get(text, text) if lang == "en" else text


def _(text: str) -> str:
    """``text`` in the language chosen in this board session (Dutch by default)."""
    import streamlit as st

    return translate(text, str(st.session_state.get("lang", "nl")))


def message(alert: dict[str, object]) -> str:
    """An alert's message in the session's language (serve sends Dutch and English)."""
    import streamlit as st

    english = st.session_state.get("lang", "nl") == "en" and alert.get("message_en")
    return str(english or alert.get("message", ""))
