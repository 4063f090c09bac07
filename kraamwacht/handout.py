"""The mother's handout: one A4 page in her language with a QR code that opens her page, and the
phone number of her kraamzorg.

Her page's code is printed once by ``episode add``; a kraamverzorgende at the door needs something to
hand over that a mother who reads little Dutch can use: a code her phone's camera opens, a number
to call, few words. Drawn with matplotlib (no layout engine to install), the QR code with segno;
Arabic is shaped and ordered right to left (arabic-reshaper, python-bidi) because a PDF renderer
draws letters as given.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import numpy as np
from numpy.typing import NDArray

from kraamwacht.errors import InvalidValueError

__all__ = ["HANDOUT_TEXTS", "handout_pdf", "mother_link", "qr_matrix"]

# Short sentences (B1), no clinical numbers; the warning is the same as on her page.
HANDOUT_TEXTS: dict[str, dict[str, str]] = {
    "nl": {
        "title": "Uw sensor in de kraamweek",
        "scan": "Scan deze code met de camera van uw telefoon.",
        "see": "U ziet dan of uw sensor goed werkt.",
        "or": "Of open deze link:",
        "call": "Vragen, of voelt u zich niet goed? Bel uw kraamzorg:",
        "no_phone": "Bel uw kraamzorg of verloskundige.",
        "keep": "Bewaar dit blad. Deel de code niet met anderen.",
    },
    "en": {
        "title": "Your sensor during the maternity week",
        "scan": "Scan this code with your phone's camera.",
        "see": "You will see whether your sensor works well.",
        "or": "Or open this link:",
        "call": "Questions, or do you feel unwell? Call your maternity care:",
        "no_phone": "Call your maternity care or midwife.",
        "keep": "Keep this sheet. Do not share the code with others.",
    },
    "tr": {
        "title": "Lohusalık haftasında sensörünüz",
        "scan": "Bu kodu telefonunuzun kamerasıyla tarayın.",
        "see": "Sensörünüzün iyi çalışıp çalışmadığını görürsünüz.",
        "or": "Veya bu bağlantıyı açın:",
        "call": "Sorularınız mı var veya kendinizi iyi hissetmiyor musunuz? Lohusa bakımınızı arayın:",
        "no_phone": "Lohusa bakımınızı veya ebenizi arayın.",
        "keep": "Bu sayfayı saklayın. Kodu başkalarıyla paylaşmayın.",
    },
    "ar": {
        "title": "جهاز الاستشعار الخاص بك في أسبوع النفاس",
        "scan": "امسحي هذا الرمز بكاميرا هاتفك.",
        "see": "سترين إن كان جهاز الاستشعار يعمل جيدًا.",
        "or": "أو افتحي هذا الرابط:",
        "call": "هل لديك أسئلة أو تشعرين بتوعك؟ اتصلي بمساعدة الأمومة:",
        "no_phone": "اتصلي بمساعدة الأمومة أو القابلة.",
        "keep": "احتفظي بهذه الورقة. لا تشاركي الرمز مع الآخرين.",
    },
    "pl": {
        "title": "Twój czujnik w tygodniu połogu",
        "scan": "Zeskanuj ten kod aparatem telefonu.",
        "see": "Zobaczysz, czy Twój czujnik działa dobrze.",
        "or": "Albo otwórz ten link:",
        "call": "Masz pytania albo źle się czujesz? Zadzwoń do opieki poporodowej:",
        "no_phone": "Zadzwoń do opieki poporodowej albo do położnej.",
        "keep": "Zachowaj tę kartkę. Nie pokazuj kodu innym.",
    },
    "uk": {
        "title": "Ваш датчик у післяпологовий тиждень",
        "scan": "Відскануйте цей код камерою телефону.",
        "see": "Ви побачите, чи добре працює ваш датчик.",
        "or": "Або відкрийте це посилання:",
        "call": "Маєте запитання або погано почуваєтеся? Телефонуйте в службу догляду після пологів:",
        "no_phone": "Телефонуйте в службу догляду після пологів або акушерці.",
        "keep": "Збережіть цей аркуш. Не показуйте код іншим.",
    },
}
RTL = frozenset({"ar"})


def mother_link(base_url: str, code: str, lang: str) -> str:
    """Her page: the board's address with her code and language."""
    if not base_url.startswith(("http://", "https://")):
        raise InvalidValueError(f"the board's address must start with https:// (or http://), not {base_url!r}")
    return f"{base_url.rstrip('/')}/?{urlencode({'moeder': code, 'taal': lang})}"


def qr_matrix(text: str) -> NDArray[np.bool_]:
    """The QR code's modules (True = dark) with the standard four-module quiet zone."""
    import segno

    code = segno.make(text, error="m", micro=False)
    rows = [[bool(v) for v in row] for row in code.matrix]
    return np.pad(np.array(rows, dtype=bool), 4)


def _shaped(text: str, lang: str) -> str:
    """Text as a left-to-right renderer must draw it (Arabic joined and reversed)."""
    if lang not in RTL:
        return text
    import arabic_reshaper
    from bidi.algorithm import get_display

    return str(get_display(arabic_reshaper.reshape(text)))


def handout_pdf(*, link: str, lang: str, phone: str | None, label: str, out: Path) -> Path:
    """Write the one-page handout (A4 portrait) to ``out``; returns ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if lang not in HANDOUT_TEXTS:
        raise InvalidValueError(f"no handout in {lang!r}: use one of {', '.join(HANDOUT_TEXTS)}")
    texts = {key: _shaped(value, lang) for key, value in HANDOUT_TEXTS[lang].items()}
    x, align = (0.92, "right") if lang in RTL else (0.08, "left")
    fig = plt.figure(figsize=(8.27, 11.69))  # A4
    fig.text(x, 0.93, texts["title"], ha=align, fontsize=22, weight="bold")
    fig.text(x, 0.88, texts["scan"], ha=align, fontsize=15)
    fig.text(x, 0.855, texts["see"], ha=align, fontsize=15)
    ax = fig.add_axes((0.25, 0.45, 0.5, 0.5 * 8.27 / 11.69))  # square: half the page wide
    ax.imshow(~qr_matrix(link), cmap="gray", interpolation="nearest", vmin=0, vmax=1)
    ax.set_axis_off()
    fig.text(x, 0.37, texts["or"], ha=align, fontsize=13)
    fig.text(0.5, 0.34, link, ha="center", fontsize=9, family="monospace")
    fig.text(x, 0.27, texts["call"] if phone else texts["no_phone"], ha=align, fontsize=15, wrap=True)
    if phone:
        fig.text(0.5, 0.21, phone, ha="center", fontsize=28, weight="bold")
    fig.text(x, 0.12, texts["keep"], ha=align, fontsize=12)
    if label:
        fig.text(0.92, 0.04, label, ha="right", fontsize=9, color="#555555")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="pdf")
    plt.close(fig)
    return out
