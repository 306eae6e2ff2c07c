"""What news counts, in the words reports use: deaths, injuries, arrests, the missing and job cuts.

Read by figures.py (which measure a count is) and by the question stage (which words of a question
ask for a measure rather than name its subject).
"""

from __future__ import annotations

DEATH_WORDS = frozenset({
    "dead", "death", "deaths", "died", "die", "dying", "killed", "kill", "killing", "fatalities", "fatality",
    "fatal", "toll", "lives", "bodies"
})
PEOPLE = frozenset({
    "people", "person", "persons", "residents", "individuals"
})
# What happened to the people a count counts, however a report words it: a count is that measure when one of its
# words stands just before it ("killed five", "arrested three men", "injuring dozens", "arrests to four") or, for a
# count of people, just after ("Three people died", "140 people were injured", "two men were detained").
PEOPLE_MEASURES = {
    "deaths": DEATH_WORDS,
    "injured": frozenset({"injured", "injuring", "injure", "injures", "injuries", "wounded", "wounding", "hurt",
                          "hospitalised", "hospitalized"}),
    "arrests": frozenset({"arrested", "arrest", "arrests", "arresting", "detained", "detaining", "detentions"}),
    "missing": frozenset({"missing", "unaccounted"}),
}
PERSONS = PEOPLE | {"man", "men", "woman", "women", "child", "children", "suspect", "suspects", "others"}
# Job cuts, however counted: "cut 1,200 jobs", "lay off about 1,500 workers", "eliminate 300 positions".
JOB_UNITS = frozenset({"job", "jobs", "worker", "workers", "employee", "employees", "position", "positions", "staff",
                       "layoff", "layoffs"})
JOB_CUTS = frozenset({"cut", "cuts", "cutting", "lay", "laid", "laying", "layoff", "layoffs", "eliminate",
                      "eliminated", "eliminating", "shed", "shedding", "redundancies"})


def measure_words() -> frozenset[str]:
    """Every word that says what was counted: a question's subject is what remains without them."""
    return frozenset().union(*PEOPLE_MEASURES.values(), PERSONS, JOB_UNITS, JOB_CUTS)
