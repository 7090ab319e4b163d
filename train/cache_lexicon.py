"""Word lists for the trap generator (``train.cache_traps``).

Lists are interleaved so that the even and the odd positions (the two halves the
generator draws from) hold similar words: a held-out trap substitutes only words the
training traps never substituted.
"""

from __future__ import annotations

COUNTRIES = ("India", "China", "USA", "Canada", "Germany", "France", "Japan", "Brazil",
             "Pakistan", "Australia", "Russia", "Italy", "Spain", "Mexico", "UK", "Israel",
             "Iran", "Turkey", "Egypt", "Nigeria", "Singapore", "Dubai", "Sweden",
             "Norway", "Bangladesh", "Indonesia", "Korea", "Vietnam", "Kenya", "Argentina",
             "Poland", "Ireland", "Switzerland", "Netherlands", "Nepal", "Sri Lanka")
CITIES = ("Delhi", "Mumbai", "Bangalore", "Chennai", "London", "Paris", "New York",
          "Tokyo", "Hyderabad", "Pune", "Kolkata", "Berlin", "Toronto", "Sydney", "Boston",
          "Chicago", "Seattle", "San Francisco", "Los Angeles", "Beijing", "Moscow", "Rome",
          "Madrid", "Vancouver", "Melbourne", "Hong Kong", "Ahmedabad", "Jaipur")
LANGUAGES = ("English", "Hindi", "Chinese", "Spanish", "French", "German", "Japanese",
             "Arabic", "Russian", "Korean", "Italian", "Portuguese", "Tamil", "Urdu")
PROGRAMMING = ("Python", "Java", "C++", "JavaScript", "PHP", "Ruby", "C#", "Swift",
               "Perl", "Scala", "Go", "Kotlin", "MATLAB", "Haskell", "HTML", "SQL")
COMPANIES = ("Google", "Facebook", "Apple", "Amazon", "Microsoft", "Quora", "Samsung",
             "Flipkart", "Uber", "Netflix", "Twitter", "Infosys", "Tesla", "Intel",
             "IBM", "Oracle", "Snapchat", "Instagram", "WhatsApp", "Airbnb")
PEOPLE = ("Trump", "Hillary Clinton", "Obama", "Modi", "Putin", "Rahul Gandhi", "Einstein",
          "Newton", "Elon Musk", "Steve Jobs", "Bill Gates", "Gandhi", "Hitler",
          "Mark Zuckerberg", "Kejriwal", "Shakespeare")
SUBJECTS = ("physics", "chemistry", "biology", "mathematics", "economics", "history",
            "psychology", "philosophy", "engineering", "medicine", "law", "accounting")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
NUMBER_WORDS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                "ten", "twelve", "twenty", "hundred", "thousand")
RELATIVE = ("yesterday", "tomorrow", "today", "tonight", "last year", "next year",
            "last week", "next week")

LEXICONS: dict[str, dict[str, tuple[str, ...]]] = {
    "entities": {"countries": COUNTRIES, "cities": CITIES, "languages": LANGUAGES,
                 "programming": PROGRAMMING, "companies": COMPANIES, "people": PEOPLE,
                 "subjects": SUBJECTS},
    "dates": {"months": MONTHS, "weekdays": WEEKDAYS, "number_words": NUMBER_WORDS,
              "relative": RELATIVE},
}

# (found, replacement): a flip of quantity, polarity or direction that needs another answer
SCOPE_FLIPS = (("always", "never"), ("never", "always"),
               ("every", "no"), ("most", "least"), ("least", "most"), ("best", "worst"),
               ("worst", "best"), ("more", "less"), ("less", "more"), ("before", "after"),
               ("after", "before"), ("first", "last"), ("last", "first"),
               ("maximum", "minimum"), ("minimum", "maximum"), ("increase", "decrease"),
               ("decrease", "increase"), ("advantages", "disadvantages"),
               ("disadvantages", "advantages"), ("benefits", "risks"), ("legal", "illegal"),
               ("illegal", "legal"), ("beginners", "experts"), ("men", "women"),
               ("women", "men"), ("buy", "sell"), ("sell", "buy"), ("gain", "lose"),
               ("lose", "gain"), ("cheapest", "most expensive"), ("easiest", "hardest"),
               ("positive", "negative"), ("negative", "positive"), ("start", "stop"),
               ("increase", "reduce"), ("girls", "boys"), ("boys", "girls"),
               ("good", "bad"), ("bad", "good"), ("highest", "lowest"), ("lowest", "highest"),
               ("inside", "outside"), ("with", "without"), ("without", "with"))
# appended to a question: a restriction that changes what a good answer says
QUALIFIERS = ("for beginners", "for kids", "in India", "in the US", "without money",
              "at home", "in one week", "after 40", "during pregnancy", "for free",
              "for a diabetic", "in winter", "on a budget", "without a degree",
              "in 2010", "for seniors", "at night", "in the UK", "for my dog",
              "with a bad credit score")
