"""Nationalities, religious / political groups (``NRP``) and country names (``GPE``)
from word lists.

One C-level scan of the text's words finds the few that can start a span: a word is
``NRP`` when it, or its singular (``saudis``, ``ecuadoreans``, ``surinameses``), is a
demonym or group name (not after a word that makes it a language: "in English");
a run of words one space apart is ``GPE`` when it names a country (``New
Zealand``, ``Czech Republic``). Case-insensitive, as the Presidio texts include
lowercased variants. These spans are rule spans: they win over the tagger's (which
tags ``Russian`` in "the Russian government" as a place).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from router_model.guard.spans import Span, resolve


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
_BY_FIRST: dict[str, tuple[str, ...]] = {}  # first word -> the names it starts, longest first
for _name in sorted(_COUNTRIES, key=len, reverse=True):
    _BY_FIRST[_name.split()[0]] = (*_BY_FIRST.get(_name.split()[0], ()), _name)
_WORD = re.compile(r"[a-z]{2,}")  # the lists are ASCII: the cheapest scan that sees them
_LAST_WORD = re.compile(r"([^\W\d_]+)[^\S\n]+$")
# a demonym after these is a language ("studying English", "into Spanish"), not a group
_LANGUAGE_CUES = _words("in into speak speaks speaking spoke learn learning learned studying "
                        "study studied translate translated translating fluent")
_NRP_FORMS = _DEMONYMS | {d + "s" for d in _DEMONYMS} | {d + "es" for d in _DEMONYMS}
_HITS = _NRP_FORMS | frozenset(_BY_FIRST)  # the words that can start a span


def places(text: str) -> Iterator[Span]:
    """``NRP`` and ``GPE`` spans (see module docstring). One C-level word scan finds the
    few words that can start one; only their occurrences are looked at."""
    low = text.lower()
    if len(low) != len(text):  # a letter whose lowercase is longer ('İ'): keep offsets
        low = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    hits = _HITS.intersection(_WORD.findall(low))
    if not hits:
        return
    found = [s for w in hits for i in _occurrences(low, w) for s in _span_at(low, w, i)]
    yield from resolve(found) if len(found) > 1 else found


def _occurrences(low: str, word: str) -> Iterator[int]:
    """Where ``word`` occurs as a whole word."""
    i = low.find(word)
    while i >= 0:
        j = i + len(word)
        if (i == 0 or not low[i - 1].isalpha()) and (j == len(low) or not low[j].isalpha()):
            yield i
        i = low.find(word, j)


def _span_at(low: str, word: str, i: int) -> Iterator[Span]:
    """The country name (words one space apart) or the demonym that starts at ``i``."""
    for name in _BY_FIRST.get(word, ()):
        j = i + len(name)
        if low.startswith(name, i) and (j == len(low) or not low[j].isalpha()):
            yield Span("GPE", i, j)
            return
    if word in _NRP_FORMS:
        cue = _LAST_WORD.search(low, max(0, i - 16), i)
        if cue is None or cue.group(1) not in _LANGUAGE_CUES:
            yield Span("NRP", i, i + len(word))
