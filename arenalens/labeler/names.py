"""Offline group names: a bank of general use-case labels matched by embedding, else a phrase
mined from the group's own texts. Never "X / Y".

Bank match (`arenalens.labeler.use_case_bank`): the group takes the best-fitting use case that
fits it (and beats the fit of the contrasting texts, the nearest groups, by `min_contrast`);
several fitting use cases are kept as ranked alternatives so that siblings can take different
ones, and a group whose best use case a sibling holds is named after it with a qualifier
(`qualified_name`: "Email: replying"). A group whose fit reaches `theme_fit` only gets the use
case's theme (used to build parents), not its name.

Mined phrase. Otherwise the name is built from the group's most distinctive c-TF-IDF term
(re-ranked by closeness to the group's centroid): a command verb leading it becomes a gerund
("turn lights" -> "Turning lights"); a group of mostly questions gets "Questions about X and
Y" (its two leading terms with at least one word that is not vague), others "Queries about X
and Y"; a group mostly in another language or script is "Queries in Spanish" and the like.
A term that personal-data masking would change is never used.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from arenalens.labeler.keywords import SPOKEN_FILLERS
from arenalens.privacy import mask_pii

QUESTION_WORDS = frozenset(
    "what what's whats who who's whose when where why how which is are was were do does did "
    "will would should could can".split()
)
COMMAND_VERBS = frozenset(
    "add book buy call cancel change check create delete dim find get lower make mute open order "
    "pause play post put read remind remove reply repeat resume search send set show skip start "
    "stop switch take text tell turn tweet update wake write".split()
)
# Words that say little about what a group is about: question verbs, fillers, vague nouns.
VAGUE_WORDS = frozenset(
    """does did do mean means meant say says said think thought know knew tell told make made
    like likes want wanted need needed live lives lived wrote write won win directed eat work
    works working sound sounds guess answer ask asked question questions random quick wondered
    wonder wondering curious explain um uh hmm lol haha hehe ok okay hey hi hello gonna going right
    actually kind sort way thing things stuff good best better bad really just year years day
    days time long far old big little lot lots new real true maybe probably pretty got get ve
    ll don doesn isn wasn try trying use used come comes came went go goes
    kid kids daughter son olly alexa siri cortana please thanks thank honest honestly agree
    tips stuck kinda pressure word words listen listening listened hear heard""".split()
)
# Numbers said as words ("twenty second", "six hundred"): a date or an amount, never a topic.
NUMBER_WORDS = frozenset(
    """zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen
    fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty
    ninety hundred thousand million first second third fourth fifth sixth seventh eighth ninth
    tenth eleventh twelfth thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth
    nineteenth twentieth thirtieth""".split()
)
# Prepositions that never stand before a term in a name ('blockchain', not 'about blockchain')
PREPOSITIONS = frozenset(
    "about above across after against along among around before behind below beside between "
    "beyond during except into like near off onto over since than through toward towards under "
    "until upon versus via within without".split()
)
# The words a spoken name may keep between two terms when it quotes them ("statue of liberty").
LINK_WORDS = frozenset("of the a an in on for to from and at by with".split())
# Non-English queries are named by their language (or script) rather than by their words.
SCRIPTS = (
    ("Japanese", re.compile(r"[\u3040-\u30ff]")),  # kana: Japanese writes them beside kanji
    ("Chinese", re.compile(r"[\u4e00-\u9fff]")),  # Han characters without kana
    ("Korean", re.compile(r"[\uac00-\ud7af]")),
    ("Cyrillic-script", re.compile(r"[\u0400-\u04ff]")),
    ("Arabic-script", re.compile(r"[\u0600-\u06ff]")),
    ("Hindi", re.compile(r"[\u0900-\u097f]")),
    ("Greek", re.compile(r"[\u0370-\u03ff]")),
    ("Hebrew", re.compile(r"[\u0590-\u05ff]")),
    ("Thai", re.compile(r"[\u0e00-\u0e7f]")),
)
# English words that outvote another language's: spoken English shares a few short words with
# them ("um" and "do" are Portuguese words, "la la la" is Spanish), never this many.
ENGLISH_WORDS = frozenset(
    "the is are was what how who why which where when a an to my you your i of and it that this "
    "do does did can could would should for with be have has so just about like um uh me i'm "
    "it's what's tell please".split()
)
# The theme, and so the parent, of groups named by their language
LANGUAGE_THEME = "Queries in other languages"
LATIN_LANGUAGES = {
    "Spanish": frozenset(
        "el la los las una uno es qué que por para cómo cuál dónde cuándo fue hay de y en mi me "
        "con del al está quiero puedes hola buenas oye tal".split()
    ),
    "French": frozenset(
        "le la les est une des du que qui pour comment quelle quel où c'est pas je tu il elle "
        "mon ma mes de et un sur avec moi veux peux veut dire quoi ça alors".split()
    ),
    "German": frozenset(
        "der die das ist ein eine und wie was warum nicht ich wo wer für mich mir bitte nach "
        "einen mit zu auf du es im den dem möchte kannst mal sag sind viel wieso".split()
    ),
    "Portuguese": frozenset(
        "o os uma é não como qual onde quando você para de e um meu minha com do da em "
        "quero".split()
    ),
    "Italian": frozenset(
        "il lo gli è una che come perché dove quando della di e un mi per con del non "
        "voglio".split()
    ),
}


def query_language(texts: Sequence[str]) -> str:
    """'Chinese', 'Spanish', ... when most texts are in that language or script; when most are
    in other languages than English but none has most, the main ones ('Spanish, French and
    German', or 'several languages' beyond three); else ''."""
    if not texts:
        return ""
    votes: dict[str, int] = {}
    for text in texts:
        found = next((name for name, pattern in SCRIPTS if pattern.search(text)), "")
        if not found:
            words = set(re.findall(r"[^\W\d_]+(?:'[^\W\d_]+)?", text.lower()))
            scores = {name: len(words & stop) for name, stop in LATIN_LANGUAGES.items()}
            best = max(scores, key=lambda name: scores[name])
            english = len(words & ENGLISH_WORDS)
            found = best if scores[best] >= 2 and scores[best] > english else ""
        votes[found] = votes.get(found, 0) + 1
    other = sorted(((n, c) for n, c in votes.items() if n), key=lambda nc: (-nc[1], nc[0]))
    if sum(c for _, c in other) < 0.6 * len(texts):
        return ""
    if other[0][1] >= 0.6 * len(texts):
        return other[0][0]
    main = [n for n, c in other if c >= 0.15 * len(texts)]
    if len(main) > 3 or len(main) < 2:
        return "several languages"
    return f"{', '.join(main[:-1])} and {main[-1]}"


def is_question(text: str) -> bool:
    """A question mark, or a question word among the first six words."""
    words = re.findall(r"[\w']+", text.lower())[:6]
    return "?" in text or any(w in QUESTION_WORDS for w in words)


def _shares_a_word(a: str, b: str) -> bool:
    """Whether two terms share a word, counting a plural 's' as the same word."""
    stems = {w.removesuffix("s") for w in b.split()}
    return any(w.removesuffix("s") in stems for w in a.split())


def topical(term: str) -> bool:
    """A term with at least one word that is neither vague nor a number said as a word."""
    return any(w not in VAGUE_WORDS and w not in NUMBER_WORDS for w in term.split())


def gerund(verb: str) -> str:
    """'set' -> 'setting', 'make' -> 'making', 'turn off' -> 'turning off' (regular spelling)."""
    verb = verb.lower()
    if " " in verb:
        first, rest = verb.split(" ", 1)
        return f"{gerund(first)} {rest}"
    if verb.endswith("ie"):
        return verb[:-2] + "ying"
    if verb.endswith("e") and not verb.endswith(("ee", "ye", "oe")):
        return verb[:-1] + "ing"
    if (
        len(verb) <= 4
        and len(verb) >= 3
        and verb[-1] not in "aeiouwxy"
        and verb[-2] in "aeiou"
        and verb[-3] not in "aeiou"
    ):
        return verb + verb[-1] + "ing"
    return verb + "ing"


def safe_term(term: str) -> bool:
    """A term can become part of a name: no personal detail, at least one letter."""
    return mask_pii(term) == term and any(ch.isalpha() for ch in term)


def as_spoken(term: str, texts: Sequence[str]) -> str:
    """A term as the texts say it: 'statue liberty' -> 'statue of liberty' when the texts join
    its words with one or two short link words (keyword extraction drops them)."""
    words = term.split()
    if len(words) < 2:
        return term
    gap = r"(?:\s+(?:" + "|".join(sorted(LINK_WORDS)) + r")){0,2}\s+"
    pattern = re.compile(r"\b" + gap.join(re.escape(w) for w in words) + r"\b", re.IGNORECASE)
    spoken = [m.group(0).lower() for t in texts for m in [pattern.search(t)] if m]
    if not spoken:
        return term
    best = max(set(spoken), key=lambda x: (spoken.count(x), -len(x)))
    return " ".join(best.split())


WORD = re.compile(r"[^\W\d_][\w'-]*")


def as_written(name: str, texts: Sequence[str]) -> str:
    """`name` with each lowercase word as the texts mostly write it where case carries meaning
    (not at the start of a text or sentence, not in a text in capitals, not a long word in
    capitals): 'questions about genghis khan' -> 'questions about Genghis Khan'. Words the texts
    do not write are kept."""
    forms: dict[str, Counter[str]] = {}
    for text in texts:
        if text.isupper():
            continue
        for m in WORD.finditer(text):
            before = text[: m.start()].rstrip()
            if not before or before[-1] in ".!?¿¡":  # a text's or a sentence's first word
                continue
            word = m.group(0)
            forms.setdefault(word.lower(), Counter())[word] += 1

    def written(m: re.Match[str]) -> str:
        word = m.group(0)
        seen = forms.get(word) if word.islower() else None
        if not seen:
            return word
        form, count = seen.most_common(1)[0]
        shouted = form.isupper() and len(form) > 6  # 'NASA' is an acronym, 'HYPERLINK' is not
        return form if 2 * count > sum(seen.values()) and not shouted else word

    return WORD.sub(written, name)


def one_phrase(first: str, second: str, texts: Sequence[str]) -> str:
    """The span the texts most often say two one-word terms in, in either order and at most one
    word apart ('statue of liberty', 'leonardo da vinci'), when most texts holding both do; else ''."""
    if " " in first or " " in second:
        return ""
    spans: list[str] = []
    both = 0
    for text in texts:
        words = re.findall(r"[\w']+", text.lower())
        if first in words and second in words:
            both += 1
            i, j = words.index(first), words.index(second)
            lo, hi = min(i, j), max(i, j)
            if hi - lo <= 2:
                spans.append(" ".join(words[lo : hi + 1]))
    if not spans or len(spans) < 0.5 * both:
        return ""
    return Counter(spans).most_common(1)[0][0]


def share_with(term: str, texts: Sequence[str]) -> float:
    """Share of texts that contain every word of `term` (plurals counted as the word)."""
    if not texts:
        return 0.0
    words = [w.removesuffix("s") for w in term.lower().split()]
    hits = 0
    for text in texts:
        have = {w.removesuffix("s") for w in re.findall(r"[\w']+", text.lower())}
        hits += all(w in have for w in words)
    return hits / len(texts)


def _without_vague(term: str, texts: Sequence[str]) -> str:
    """A term as the texts say it ('statue of liberty'), else without the vague words a key
    pair picked up ('trump know' -> 'trump'); the term itself when all its words are vague."""
    spoken = as_spoken(term, texts)
    if spoken != term:
        return spoken
    return " ".join(w for w in term.split() if w not in VAGUE_WORDS) or term


def language_name(language: str) -> tuple[str, str]:
    """(name, description) of a group named after its language(s) (`query_language`)."""
    return f"Queries in {language}", f"Queries written or spoken in {language}."


VARIED_BELOW = 0.2  # a group none of whose top terms is in this share of its texts is "varied"


def _common_word(texts: Sequence[str]) -> str:
    """A content word (vague ones included: 'time') in half the texts or more; else ''."""
    skip = QUESTION_WORDS | LINK_WORDS | PRONOUNS | ENGLISH_WORDS | SPOKEN_FILLERS | ADVERBS
    counts = Counter(
        w for t in texts for w in set(re.findall(r"[\w']+", t.lower())) if w not in skip
    )
    word, n = counts.most_common(1)[0] if counts else ("", 0)
    return word if texts and n >= 0.5 * len(texts) else ""


def phrase_name(keywords: Sequence[str], texts: Sequence[str]) -> tuple[str, str]:
    """(name, description) from the group's distinctive terms and the form of its texts."""
    language = query_language(texts)
    if language:
        return language_name(language)
    terms = [t for t in keywords if safe_term(t)]
    topics = [t for t in terms if topical(t)] or terms
    if not topics:
        return "", ""
    questions = float(np.mean([is_question(t) for t in texts])) if texts else 0.0
    first, *rest = terms[0].split()
    # a second topic only when the texts use it about as much as the first: "Questions about
    # statue of liberty", not "... statue and liberty"
    also = [
        t
        for t in topics[1:]
        if not _shares_a_word(t, topics[0])
        and share_with(t, texts) >= 0.5 * share_with(topics[0], texts)
    ]
    lead = _without_vague(topics[0], texts)
    lead = with_word_before(lead, texts)  # "new york", not "york"; "new york city"
    joined = one_phrase(topics[0], also[0], texts) if also else ""
    if joined:
        pair = with_word_before(joined, texts)  # said as one phrase: "statue of liberty"
    else:
        pair = f"{lead} and {_without_vague(also[0], texts)}" if also else lead
    action = next((t for t in also[:1] if t.split()[0] in COMMAND_VERBS and " " in t), "")
    if max(share_with(t, texts) for t in topics[:3]) < VARIED_BELOW and not _common_word(texts):
        # no term is in more than a few of the texts: a name from one would mislead
        kind = "questions" if questions >= 0.5 else "requests"
        name = f"Varied {kind}"
        words = ", ".join(topics[:3])
        return name, as_written(f"{name} with little in common (a few mention {words}).", texts)
    if first in COMMAND_VERBS and rest and questions < 0.5:
        name = f"{gerund(first).capitalize()} {' '.join(rest)}"
        what = "Requests to " + terms[0]
    elif action and questions < 0.5:  # "Sending email: mom", not "Queries about mom and send email"
        verb, *thing = action.split()
        name = f"{gerund(verb).capitalize()} {' '.join(thing)}: {lead}"
        what = f"Requests to {action}, about {lead}"
    elif questions >= 0.5:
        name = what = f"Questions about {pair}"
    else:
        name = what = f"Queries about {pair}"
    more = [t for t in also[1:4]]
    description = what + (f", also mentioning {', '.join(more)}" if more else "") + "."
    return as_written(name, texts), as_written(description, texts)


LEADING_FILLER = re.compile(
    r"^(?:(?:olly|alexa|siri|hey|hi|ok|okay|please|so|and|now|um|uh|can you|could you|"
    r"would you|will you|i want to|i'd like to|i need to|let's|lets)\s+)+"
)
OBJECT_SKIP = frozenset(
    "the a an my all this that these those some any me us it next last to".split()
)
TIME_WORDS = frozenset("this next last today today's tonight tomorrow".split())
PARTICLES = frozenset("on off up down in out over back".split())
ADVERBS = frozenset("now then again here there today tonight tomorrow please also too".split())
PRONOUNS = frozenset("i me you we us they them he him she her it my your our their".split())
# verbs that ask for information ("tell me what time it is"), not for an action
ASKING_VERBS = frozenset("tell show give get find check search read".split())


def leading_action(texts: Sequence[str]) -> tuple[str, str, float]:
    """(verb, object, share): the command verb most of the texts open with, the word most often
    right after it (articles and possessives skipped), and the share of texts opening so."""
    found: list[tuple[str, str]] = []
    for text in texts:
        words = re.findall(r"[\w']+", LEADING_FILLER.sub("", text.lower().strip()))
        if words and words[0] in COMMAND_VERBS and words[0] not in ASKING_VERBS:
            verb, rest = words[0], [w for w in words[1:] if w not in OBJECT_SKIP]
            if rest and rest[0] in PARTICLES:  # "turn off", "set up"
                verb, rest = f"{verb} {rest[0]}", [w for w in rest[1:] if w not in OBJECT_SKIP]
            found.append((verb, " ".join(rest[:2])))
    if not found:
        return "", "", 0.0
    verb, count = Counter(v for v, _ in found).most_common(1)[0]
    heads = Counter(o.split()[0] for v, o in found if v == verb and o)
    heads = Counter({w: n for w, n in heads.items() if _nounish(w)})
    if not heads:
        return verb, "", count / len(texts)
    head, uses = heads.most_common(1)[0]
    # the next word too when most uses of the head carry it ("vacuum cleaner")
    pairs = Counter(o for v, o in found if v == verb and " " in o and o.split()[0] == head)
    pair, together = pairs.most_common(1)[0] if pairs else ("", 0)
    if together >= 0.5 * uses and _nounish(pair.split()[1]):
        head = pair
    plural = head + "s"
    if not head.endswith("s") and any(
        re.search(rf"\b{re.escape(plural)}\b", t.lower()) for t in texts
    ):
        head = plural
    return verb, head, count / len(texts)


def _modifier(word: str) -> bool:
    """A word that may stand before a term in a name ('time' zone), not a function word."""
    return (
        word.isalpha()
        and word not in PRONOUNS | QUESTION_WORDS | LINK_WORDS | PARTICLES
        and word not in {"is", "be", "was", "it's", "what's", "please", "olly", "alexa"}
        and word not in PREPOSITIONS
        and safe_term(word)
    )


def _nounish(word: str) -> bool:
    """A word that can head an object phrase: topical, not a pronoun, number or question word."""
    return (
        word.isalpha()
        and topical(word)
        and word not in PRONOUNS
        and word not in ADVERBS
        and word not in QUESTION_WORDS
        and word not in LINK_WORDS
        and word not in PREPOSITIONS
        and safe_term(word)
    )


# words that never stand before a term in a name: command verbs ("play music"), object words
# ("some music"), nouns that only introduce it ("the word schadenfreude"), and vague words
# other than adjectives ("explain america", but "new york")
NOT_MODIFIERS = (
    COMMAND_VERBS
    | OBJECT_SKIP
    | frozenset("word words term phrase expression".split())
    | (ENGLISH_STOP_WORDS - TIME_WORDS)
    | (
        VAGUE_WORDS
        - frozenset("new old big little real good best better bad random long time day".split())
    )
)


def _neighbours(term: str, texts: Sequence[str]) -> tuple[int, Counter[str], Counter[str]]:
    """(uses, words before, nouns after) of `term`'s uses in the texts: the word right before
    each use where it may modify the term, and the noun right after it."""
    target = term.split()
    before: Counter[str] = Counter()
    after: Counter[str] = Counter()
    uses = 0
    for text in texts:
        words = re.findall(r"[\w']+", text.lower())
        for i in range(len(words) - len(target) + 1):
            if words[i : i + len(target)] != target:
                continue
            uses += 1
            previous = words[i - 1] if i else ""
            if previous and not _not_modifier(previous):
                before[previous] += 1
            j = i + len(target)
            following = words[j] if j < len(words) else ""
            if len(following) > 2 and _nounish(following) and following not in NOT_MODIFIERS:
                after[following] += 1
    return uses, before, after


def with_word_before(term: str, texts: Sequence[str]) -> str:
    """`term` with the word the texts most often put right before it, when most of its uses do
    and that word may modify it ('york city' -> 'new york city'); else `term`."""
    if " " not in term:
        return expand_term(term, texts)
    uses, before, _ = _neighbours(term, texts)
    if before:
        word, count = before.most_common(1)[0]
        if count >= 0.5 * uses and safe_term(word):
            return f"{word} {term}"
    return term


def _not_modifier(word: str) -> bool:
    return word not in TIME_WORDS and (not _modifier(word) or word in NOT_MODIFIERS)


def expand_term(term: str, texts: Sequence[str]) -> str:
    """A one-word term with the word the texts most often put before it, when most of its
    uses do ('zone' -> 'time zone', 'week' -> 'this week'), else with the noun most of its uses
    put after it ('kahlo' after 'frida', 'wimbledon' -> 'wimbledon titles'); else the term as
    spoken."""
    if " " in term:
        return as_spoken(term, texts)
    uses, before, after = _neighbours(term, texts)
    if before:  # a link word is never a modifier (`_not_modifier`)
        word, count = before.most_common(1)[0]
        if count >= 0.5 * uses and safe_term(word):
            return f"{word} {term}"
    if after:  # a following noun only when it is most uses' and not a one-off
        word, count = after.most_common(1)[0]
        if count > 0.5 * uses and count >= 2:
            return f"{term} {word}"
    return term


def _singular(name: str) -> str:
    """`name` lowercased with each word's plural 's' dropped, to compare names."""
    return " ".join(w.removesuffix("s") for w in name.lower().split())


def qualified_name(
    use_case: str,
    keywords: Sequence[str],
    holder_keywords: Sequence[str],
    texts: Sequence[str],
    taken: frozenset[str] | set[str] = frozenset(),
) -> str:
    """'Email: replying' for a group whose best use case a sibling already holds: the use
    case's name and the group's first distinctive term that the holder does not lead with and
    the name does not already say (a leading command verb as a gerund), skipping names in
    `taken` (lowercase); '' when none."""
    named = {w.lower().removesuffix("s") for w in re.findall(r"[\w']+", use_case)}

    def said(word: str) -> bool:  # the use case's name already says it ("set" in "Setting",
        # "play" in "playback")
        stem = word.removesuffix("s")
        return (
            stem in named
            or gerund(word.split()[0]) in named
            or (len(stem) >= 4 and any(n.startswith(stem) for n in named))
        )

    held = {_singular(t) for t in taken}

    def free(name: str) -> bool:  # no sibling holds it, counting plurals as one ("event(s)")
        return _singular(name) not in held

    theirs = {t.lower() for t in holder_keywords[:3]}
    verb, noun, share = leading_action(texts)
    if share >= 0.5 and verb not in theirs:  # most ask to do one thing
        thing = noun if noun and not any(said(w) for w in noun.split()) else ""
        thing = as_written(thing, texts)
        if not said(verb):
            name = f"{use_case}: {gerund(verb)}" + (f" {thing}" if thing else "")
        else:  # "Music playback: favorite song", not "...: playing favorite song"
            name = f"{use_case}: {thing}" if thing else ""
        if name and free(name):
            return name
    for term in keywords:
        words = term.split()
        if not safe_term(term) or not topical(term) or term.lower() in theirs:
            continue
        if all(said(w) or w in VAGUE_WORDS for w in words):
            continue
        core = [w for w in words if w not in VAGUE_WORDS | NUMBER_WORDS] or words
        if texts and not any(share_with(w, texts) for w in core):
            continue  # none of the group's central texts says it ("Music playback: rock")
        spoken = as_spoken(term, texts)
        if words[0] in COMMAND_VERBS:
            rest = [w for w in words[1:] if not said(w) and w not in VAGUE_WORDS]
            qualifier = " ".join([gerund(words[0]), *rest])
        elif spoken != term:  # said with link words: 'kind of bird'
            qualifier = spoken
        else:  # without the vague words a key pair leaves in ('pitch come' -> 'pitch')
            kept = [w for w in words if w not in VAGUE_WORDS | NUMBER_WORDS and not said(w)]
            qualifier = expand_term(" ".join(kept), texts)
        if free(f"{use_case}: {qualifier}"):
            return f"{use_case}: {as_written(qualifier, texts)}"
    return ""
