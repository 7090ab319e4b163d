"""Nationalities, religious / political groups (``NRP``) and country names (``GPE``)
from word lists.

One scan of the text's words (letters only) and a set look-up per word: a word is
``NRP`` when it, or its singular (``saudis``, ``ecuadoreans``, ``surinameses``), is a
demonym or group name (not after a word that makes it a language: "in English");
a run of one to three words is ``GPE`` when it names a country
(``New Zealand``, ``Czech Republic``). Case-insensitive, as the Presidio texts include
lowercased variants. These spans are rule spans: they win over the tagger's (which
tags ``Russian`` in "the Russian government" as a place).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from router_model.guard.spans import Span


def _names(spec: str) -> frozenset[str]:
    """Lowercase names from a list separated by '|', line breaks or (``words``) spaces."""
    return frozenset(n.strip().lower() for n in spec.replace("|", "\n").splitlines() if n.strip())


def _words(spec: str) -> frozenset[str]:
    return frozenset(spec.split())


_DEMONYMS = _words("""
afghan albanian algerian american andorran angolan argentine argentinian armenian
australian austrian azerbaijani bahamian bahraini bangladeshi barbadian belarusian belgian
belizean belizian beninese bhutanese bolivian bosnian botswanan brazilian british bruneian
bulgarian burkinabe burmese burundian cambodian cameroonian canadian chadian chilean chinese
colombian congolese croatian cuban cypriot czech danish djiboutian dominican
dutch dutchman ecuadorean ecuadorian egyptian emirati english englishman eritrean estonian
ethiopian fijian filipino finnish french frenchman gabonese gambian georgian german
ghanaian greek grenadian guatemalan guinean guyanese haitian honduran hungarian
icelandic icelander indian indonesian iranian iraqi irish israeli italian ivorian jamaican
japanese jordanian kazakh kenyan korean kosovar kuwaiti kyrgyz lao laotian latvian lebanese
liberian libyan lithuanian luxembourgish macedonian malagasy malawian malaysian maldivian
malian maltese mauritanian mauritian mexican moldovan monegasque mongolian montenegrin
moroccan mozambican namibian nepalese nepali nicaraguan nigerian norwegian omani
pakistani palestinian panamanian paraguayan peruvian polish portuguese qatari romanian
russian rwandan salvadoran samoan saudi scottish senegalese serbian seychellois singaporean
slovak slovakian slovenian slovene somali spanish spaniard sudanese surinamese swazi swedish
swiss syrian taiwanese tajik tanzanian thai togolese tongan trinidadian tunisian
turkish turkmen ugandan ukrainian uruguayan uzbek venezuelan vietnamese welsh yemeni zambian
zimbabwean european asian african latino latina hispanic arab arabic slavic nordic
scandinavian chechen kurdish kurd tamil basque catalan flemish walloon bavarian texan
californian muslim christian jewish jew hindu buddhist sikh catholic protestant orthodox
mormon shia shiite shii sunni lutheran anglican baptist methodist atheist
""")
_COUNTRIES = _names("""
Afghanistan|Albania|Algeria|Andorra|Angola|Argentina|Armenia|Australia|Austria|Azerbaijan
Bahamas|Bahrain|Bangladesh|Barbados|Belarus|Belgium|Belize|Benin|Bhutan|Bolivia|Bosnia
Botswana|Brazil|Brunei|Bulgaria|Burkina Faso|Burundi|Cambodia|Cameroon|Canada|Chile
China|Colombia|Congo|Costa Rica|Croatia|Cuba|Cyprus|Czech Republic|Czechia|Denmark|Djibouti
Dominican Republic|Ecuador|Egypt|El Salvador|Eritrea|Estonia|Ethiopia|Fiji|Finland|France
Gabon|Gambia|Germany|Ghana|Greece|Greenland|Guatemala|Guyana|Haiti|Honduras
Hungary|Iceland|India|Indonesia|Iran|Iraq|Ireland|Israel|Italy|Jamaica|Japan
Kazakhstan|Kenya|Kosovo|Kuwait|Kyrgyzstan|Laos|Latvia|Lebanon|Liberia|Libya|Liechtenstein
Lithuania|Luxembourg|Madagascar|Malawi|Malaysia|Maldives|Mali|Malta|Mauritania|Mauritius
Mexico|Moldova|Monaco|Mongolia|Montenegro|Morocco|Mozambique|Myanmar|Namibia|Nepal
Netherlands|New Zealand|Nicaragua|Nigeria|North Korea|North Macedonia|Norway|Oman
Pakistan|Palestine|Panama|Paraguay|Peru|Philippines|Poland|Portugal|Qatar|Romania|Russia
Rwanda|Saudi Arabia|Senegal|Serbia|Singapore|Slovakia|Slovenia|Somalia|South Africa
South Korea|Spain|Sri Lanka|Sudan|Suriname|Sweden|Switzerland|Syria|Taiwan|Tajikistan
Tanzania|Thailand|Togo|Trinidad and Tobago|Tunisia|Turkmenistan|Uganda|Ukraine
United Arab Emirates|United Kingdom|United States|Uruguay|Uzbekistan|Venezuela|Vietnam
Yemen|Zambia|Zimbabwe|England|Scotland|Wales|Northern Ireland|European Union
""")
_FIRST: dict[str, tuple[int, ...]] = {}  # first word -> word counts of the names it starts
for _name in sorted(_COUNTRIES, key=lambda c: -len(c.split())):
    _FIRST[_name.split()[0]] = (*_FIRST.get(_name.split()[0], ()), len(_name.split()))
_WORD = re.compile(r"[^\W\d_]+")
# a demonym after these is a language ("studying English", "into Spanish"), not a group
_LANGUAGE_CUES = _words("in into speak speaks speaking spoke learn learning learned studying "
                        "study studied translate translated translating fluent")


def _demonym(w: str) -> bool:
    if w in _DEMONYMS:
        return True
    return w.endswith("s") and (w[:-1] in _DEMONYMS or (w.endswith("es") and w[:-2] in _DEMONYMS))


def _country(text: str, words: list[tuple[int, int]], i: int, first: str) -> int:
    """How many words from ``words[i]`` on name a country on one line (0: none)."""
    for n in _FIRST[first]:
        a, b = words[i][0], words[min(i + n, len(words)) - 1][1]
        if (i + n <= len(words) and "\n" not in text[a:b]
                and " ".join(text[s:e] for s, e in words[i:i + n]).lower() in _COUNTRIES):
            return n
    return 0


def places(text: str) -> Iterator[Span]:
    """``NRP`` and ``GPE`` spans (see module docstring)."""
    words = [(m.start(), m.end()) for m in _WORD.finditer(text)]
    i = 0
    while i < len(words):
        w = text[words[i][0]:words[i][1]].lower()
        n = _country(text, words, i, w) if w in _FIRST else 0
        if n:
            yield Span("GPE", words[i][0], words[i + n - 1][1])
            i += n
            continue
        before = text[words[i - 1][0]:words[i - 1][1]].lower() if i else ""
        if _demonym(w) and before not in _LANGUAGE_CUES:
            yield Span("NRP", *words[i])
        i += 1
