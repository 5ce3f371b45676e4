"""Offline names a person can read: use-case bank, mined phrases, themed parents (issue 23).
Each query's own category: test_taxonomy_query_category.py."""

from __future__ import annotations

import numpy as np
import pytest
from taxonomy_fixtures import KeywordLabeler

from arenalens.labeler.base import GroupName, LabelerError
from arenalens.labeler.embedding import EmbeddingLabeler
from arenalens.labeler.names import gerund, phrase_name, qualified_name, query_language
from arenalens.labeler.use_case_bank import UseCase, UseCaseBank, load_use_cases
from arenalens.privacy import mask_pii
from taxonomy.categories import load_categories
from taxonomy.describe import ClusterDescriber, name_groups_offline
from taxonomy.hierarchy import MISCELLANEOUS, ClusterHierarchy

# written for these tests; not from the shipped bank or any evaluation set
TOPICS = {
    "alarm": ["set an alarm for seven", "wake me up at six with an alarm", "alarm for tomorrow morning",
              "cancel my alarm", "set alarm at noon", "change my morning alarm to eight"],
    "weather": ["what is the weather today", "will it rain tomorrow", "weather forecast for paris",
                "is it sunny outside", "how cold is it today", "will it snow this weekend"],
    "lights": ["turn off the bedroom lights", "dim the lights in the hall", "switch the lamp on",
               "make the lights red", "lights off please", "turn on the porch light"],
    "zorblax": ["zorblax quarn the vintle", "zorblax quarn my vintle now", "please zorblax quarn vintle",
                "zorblax the vintle quarn", "quarn the zorblax vintle", "zorblax quarn vintle again"],
}  # fmt: skip


def topic_data(encode):
    texts = [t for group in TOPICS.values() for t in group]
    labels = np.repeat(np.arange(len(TOPICS)), 6)
    return texts, encode(texts), labels


def test_shipped_bank_is_valid_and_plain():
    bank = load_use_cases()
    assert len(bank) >= 40
    for use_case in bank:
        assert 1 <= len(use_case.name.split()) <= 6 and "/" not in use_case.name
        assert use_case.theme and use_case.description.endswith(".")
        assert "_" not in use_case.name and "_" not in use_case.theme
    categories = {u.category for u in bank}
    assert categories <= {*load_categories().names, ""}


def test_bank_file_errors_name_the_file_and_entry(tmp_path):
    path = tmp_path / "use_cases.yaml"
    path.write_text("use_cases:\n  - name: Alarms\n    theme: Time\n    description: x.\n")
    with pytest.raises(LabelerError, match=r"use_cases.yaml: use case #1 \(Alarms\): `examples`"):
        load_use_cases(path)


def test_clusters_get_plain_distinct_names_never_keyword_pairs(embedder):
    texts, x, labels = topic_data(embedder.encode)
    described = ClusterDescriber(EmbeddingLabeler(embedder), n_central=6).fit(texts, x, labels)
    names = {k: d.name for k, d in described.descriptions_.items()}
    assert names[0] == "Setting alarms"
    assert names[1] == "Weather forecasts"
    assert names[2] == "Smart-home lighting"
    # no use case fits the made-up commands: a phrase from the cluster's own words
    assert "zorblax" in names[3].lower() or "quarn" in names[3].lower()
    assert not any(" / " in n for n in names.values())
    assert len(set(names.values())) == 4
    alarm = described.descriptions_[0]
    assert alarm.theme == "Alarms and timers"
    assert "Most typical: “" in alarm.description and alarm.description.endswith("”.")
    assert described.descriptions_[3].theme == ""


def test_a_use_case_name_goes_to_the_best_fitting_sibling_only(embedder):
    encode = embedder.encode
    groups = {
        0: ["set an alarm for seven", "wake me up at six", "set my alarm for five thirty"],
        1: ["alarm at noon", "alarm for monday", "set an alarm"],
    }
    centroids = {k: encode(v).mean(axis=0) for k, v in groups.items()}
    bank = UseCaseBank(load_use_cases(), encode)
    names, _ = name_groups_offline(
        bank, encode, groups, centroids, {0: ["wake"], 1: ["alarm noon", "monday"]}
    )
    assert sorted(n for n, _, _ in names.values()).count("Setting alarms") == 1
    assert len({n for n, _, _ in names.values()}) == 2


def test_phrase_names_follow_the_form_of_the_queries():
    assert phrase_name(["turn lights"], ["turn lights on", "turn lights off"])[0] == (
        "Turning lights"
    )
    assert phrase_name(["capital"], ["what is the capital of peru", "what's the capital city"])[
        0
    ] == ("Questions about capital")
    assert phrase_name(["zorblax"], ["zorblax the vintle"])[0] == "Queries about zorblax"
    assert gerund("set") == "setting" and gerund("make") == "making" and gerund("play") == "playing"


def test_a_term_that_masking_would_change_never_becomes_a_name():
    term = "call 555 123 4567"
    assert mask_pii(term) != term
    name, _ = phrase_name([term, "dentist"], ["call the dentist", "call 555 123 4567 now"])
    assert "555" not in name and name == "Queries about dentist"


def test_parents_hold_one_theme_and_say_so_when_miscellaneous():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(4, 16))
    centroids = np.stack([base[0], base[0] + 0.01, base[1], base[2], base[3]])
    themes = {0: "Calendar and schedule", 1: "Calendar and schedule", 2: "Weather", 3: "", 4: ""}
    categories = {3: "novel", 4: "novel"}
    names = {0: "Calendar and meetings", 1: "Reminders", 2: "Weather forecasts", 3: "A", 4: "B"}
    hierarchy = ClusterHierarchy(None).fit(
        np.arange(5),
        centroids,
        np.array([50, 40, 30, 5, 4]),
        None,
        themes=themes,
        names=names,
        categories=categories,
    )
    parent_of = hierarchy.parent_of_
    assert parent_of[0] == parent_of[1] != parent_of[2]
    parent_names = {p: n for p, (n, _, _) in hierarchy.parent_names_.items()}
    assert parent_names[parent_of[0]] == "Calendar and schedule"
    assert parent_names[parent_of[2]] == "Weather"
    # two unrelated clusters with no theme: one Miscellaneous parent, described as such
    assert parent_of[3] == parent_of[4] and parent_names[parent_of[3]] == MISCELLANEOUS
    assert "share no theme" in hierarchy.parent_names_[parent_of[3]][1]


def test_bank_fit_rejects_a_group_that_fits_no_use_case(embedder):
    bank = UseCaseBank(
        [UseCase("Setting alarms", "Alarms", "Alarms.", ("set an alarm for seven",))],
        embedder.encode,
    )
    fit_in = bank.fit(embedder.encode(["zorblax quarn the vintle"]))
    fitting, theme = bank.choose(fit_in, np.zeros_like(fit_in))
    assert fitting == [] and theme == ""


def test_phrase_names_pair_two_different_topics_and_name_other_languages():
    name, _ = phrase_name(
        ["meeting", "meetings", "does", "dentist"],
        ["when is my meeting with the dentist", "meetings today", "is the dentist open"],
    )
    assert name == "Questions about meeting and dentist"
    # a second topic the texts hardly use is left out; words the texts join are kept joined
    few = ["when is my meeting", "is my meeting today", "where is the dentist meeting"]
    assert phrase_name(["meeting", "dentist"], few)[0] == "Questions about meeting"
    statue = ["what do you know about the statue of liberty", "how tall is the statue of liberty"]
    assert phrase_name(["statue", "liberty"], statue)[0] == "Questions about statue of liberty"
    # a key pair's vague word stays out of the name: not "america explain and trump know"
    pairs = ["can you explain america", "what do you know about trump", "does trump know"]
    assert phrase_name(["america explain", "trump know"], pairs)[0] == (
        "Questions about america and trump"
    )
    spanish = ["qué es la fotosíntesis", "cuándo fue la revolución", "dónde está la playa"]
    assert phrase_name(["fotosíntesis"], spanish)[0] == "Queries in Spanish"
    assert phrase_name(["首都"], ["澳大利亚的首都是哪里", "你好", "加拿大的首都"])[0] == (
        "Queries in Chinese"
    )
    # Spanish as typed, its words joined to inverted marks; kana say Japanese, not Chinese
    typed = ["bueno ¿una receta fácil con tomates?", "¿cuándo fue la Revolución Francesa?"]
    assert phrase_name(["bueno", "una"], typed)[0] == "Queries in Spanish"
    assert phrase_name(["天気"], ["東京の天気は", "明日の天気を教えて"])[0] == "Queries in Japanese"
    # a group of several languages is not named after one of them
    mixed = ["¿cuál es la capital de Perú?", "hola, ¿cómo estás hoy?", "¿dónde está el banco?",
             "quelle est la capitale du Japon ?", "c'est quoi la météo pour demain ?",
             "was ist die Hauptstadt von Kanada?", "wie spät ist es in Tokio?",
             "what is the population of peru"]  # fmt: skip
    assert phrase_name(["capital"], mixed)[0] == "Queries in Spanish, French and German"
    # spoken English shares short words with Portuguese ("um", "do") and Spanish ("la"): still
    # English
    english = ["um so do I sound nervous", "hum something, tell me the song, la la la"]
    assert [query_language([text]) for text in english] == ["", ""]
    assert not phrase_name(["sound", "song"], english)[0].startswith("Queries in")


def test_clusters_alike_no_other_are_grouped_by_category_not_in_one_drawer():
    rng = np.random.default_rng(1)
    centroids = rng.normal(size=(4, 16))
    hierarchy = ClusterHierarchy(None).fit(
        np.arange(4), centroids, np.array([9, 8, 7, 6]), None,
        themes=dict.fromkeys(range(4), ""), names={k: f"n{k}" for k in range(4)},
        categories={0: "knowledge", 1: "knowledge", 2: "advice", 3: "novel"},
    )  # fmt: skip
    names = {k: hierarchy.parent_names_[p][0] for k, p in hierarchy.parent_of_.items()}
    assert names == {0: "Other factual questions", 1: "Other factual questions",
                     2: "Other advice", 3: MISCELLANEOUS}  # fmt: skip


def test_parent_names_join_children_topics_without_numbered_repeats():
    from taxonomy.hierarchy import _and_name

    assert _and_name(["Questions about jupiter and mars", "Questions about moon and sun"]) == (
        "Questions about jupiter and moon"
    )
    assert _and_name(["Queries in German (2)", "Queries in German"]) == "Queries in German"
    assert _and_name(["Queries in German", "Queries in French"]) == "Queries in German and French"
    assert _and_name(["Setting alarms", "Reminders"]) == "Setting alarms and reminders"


def test_a_workspace_use_case_bank_replaces_the_shipped_one(tmp_path, embedder):
    from taxonomy.categories import CategoriesError, resolve_use_cases

    assert resolve_use_cases(None, tmp_path) is None
    bank = tmp_path / "use_cases.yaml"
    bank.write_text(
        "use_cases:\n  - name: Zorblax rituals\n    theme: Rituals\n"
        "    description: Zorblax things.\n    examples: [zorblax quarn the vintle]\n"
    )
    assert resolve_use_cases(None, tmp_path) == str(bank)
    with pytest.raises(CategoriesError, match="use-case file not found"):
        resolve_use_cases(tmp_path / "missing.yaml")
    texts, x, labels = topic_data(embedder.encode)
    described = ClusterDescriber(EmbeddingLabeler(embedder), n_central=6, use_cases=str(bank)).fit(
        texts, x, labels
    )
    assert described.descriptions_[3].name == "Zorblax rituals"
    assert described.descriptions_[0].name != "Setting alarms"


class RecordingNamer(KeywordLabeler):
    """Names groups 'Group 1', 'Group 2', ... in the order asked, keeping every request."""

    concurrency = 1

    def __init__(self) -> None:
        super().__init__()
        self.requests: list = []

    def name_clusters(self, requests, *, instructions=""):
        self.requests.extend(requests)
        return [GroupName(f"Group {len(self.requests) - len(requests) + i + 1}", "d.")
                for i in range(len(requests))]  # fmt: skip


def test_a_namer_sees_boundary_texts_and_the_names_its_neighbours_already_have(embedder):
    texts, x, labels = topic_data(embedder.encode)
    labels = labels.copy()
    labels[:2] = 0  # the alarm cluster is largest: eight texts
    labels[6:8] = 0
    namer = RecordingNamer()
    described = ClusterDescriber(namer, n_central=3).fit(texts, x, labels)
    first, *rest = namer.requests
    assert set(first.central) <= set(texts[:8]) and first.sibling_names == []
    # the largest cluster's edges are the two weather texts it holds, not its central alarms
    assert set(texts[6:8]) <= set(first.boundary) and len(first.boundary) == 3
    assert not set(first.boundary) & set(first.central)
    for i, request in enumerate(rest, start=1):  # each sees names given before it, only those
        assert request.sibling_names and set(request.sibling_names) <= {
            f"Group {j}" for j in range(1, i + 1)
        }
        assert request.keywords and request.contrast
    assert {d.name for d in described.descriptions_.values()} == {f"Group {i}" for i in range(1, 5)}


def test_a_sibling_of_a_named_cluster_says_what_sets_it_apart():
    removing = ["remove milk from my shopping list", "remove the eggs from the list",
                "please remove bread from my grocery list", "what's on my list"]  # fmt: skip
    assert qualified_name("Shopping and to-do lists", ["remove", "milk"], ["add"], removing) == (
        "Shopping and to-do lists: removing milk"
    )
    vacuum = ["start the vacuum cleaner", "olly start my vacuum cleaner now",
              "start vacuum cleaner at noon"]  # fmt: skip
    assert qualified_name("Home appliances", ["vacuum"], ["coffee"], vacuum) == (
        "Home appliances: starting vacuum cleaner"
    )
    zones = ["what time is it in the eastern time zone", "which time zone is denver in"]
    assert qualified_name("Date and time questions", ["zone"], ["date"], zones) == (
        "Date and time questions: time zone"
    )
    assert qualified_name("Email", ["email"], [], ["email"]) == ""  # nothing new to say
    # a bare command among commands with objects
    bare = ["stop", "stop the music", "stop the music now"]
    assert qualified_name("Music playback", ["stop"], ["play"], bare) == "Music playback: stopping"
    # a key pair loses the vague word it picked up, unless the texts link the two words
    pitch = ["does my pitch come across as calm", "how does my pitch come across"]
    assert qualified_name("Voice feedback", ["pitch come"], [], pitch) == "Voice feedback: pitch"
    birds = ["what kind of bird is singing", "what kind of bird makes that call"]
    assert qualified_name("Sounds heard", ["kind bird"], [], birds) == "Sounds heard: kind of bird"
    # a qualified name a third sibling already holds is passed over for the next term
    capitals = ["what is the capital of brazil", "brazil's capital city", "capital of canada"]
    taken = {"geography facts", "geography facts: capital"}
    assert qualified_name("Geography facts", ["capital", "brazil"], [], capitals, taken) == (
        "Geography facts: brazil"
    )


def test_a_qualifier_never_repeats_the_use_case_or_is_a_spoken_number():
    favourites = ["play my favorite song", "play my favorite song again",
                  "play the favorite song playlist", "turn up the volume"]  # fmt: skip
    # "play" is already in "playback": the object alone sets the group apart
    assert qualified_name("Music playback", ["play", "favorite"], ["radio"], favourites) == (
        "Music playback: favorite song"
    )
    dates = ["what day is the twenty second of april", "is the twenty third of april a saturday",
             "day on twenty second april"]  # fmt: skip
    assert qualified_name("Calendar and meetings", ["twenty second", "april"], [], dates) == (
        "Calendar and meetings: april"
    )
    lists = ["how do i create new lists", "my lists need a create new button"]
    assert qualified_name("Shopping and to-do lists", ["create new"], ["add"], lists) == (
        "Shopping and to-do lists: creating"
    )
    # a sibling's qualifier in the plural is the same qualifier
    events = ["what events are on my calendar", "any event today", "event schedule for friday"]
    taken = {"calendar and meetings", "calendar and meetings: events"}
    assert qualified_name("Calendar and meetings", ["event", "schedule"], [], events, taken) == (
        "Calendar and meetings: event schedule"
    )
    reminders = ["remind me about the meeting", "remind me about lunch with mike",
                 "remind me about my dentist"]  # fmt: skip
    assert qualified_name("Calendar and meetings", ["remind"], ["event"], reminders) == (
        "Calendar and meetings: reminding"
    )
    words = ["what does the word schadenfreude mean", "define the word schadenfreude"]
    assert qualified_name("Word definitions", ["schadenfreude"], ["irony"], words) == (
        "Word definitions: schadenfreude"
    )
    calm = ["do I sound calm no pressure", "be honest do I sound calm", "no pressure but am I calm"]
    assert qualified_name("Feedback on how I sound", ["pressure", "calm"], [], calm) == (
        "Feedback on how I sound: calm"
    )


def test_phrase_names_keep_a_place_whole_and_say_what_is_asked():
    york = ["how far is new york from boston", "what is the time in new york",
            "tell me about new york"]  # fmt: skip
    assert phrase_name(["york"], york)[0] == "Questions about new york"
    city = ["how far is new york city from boston", "what is the time in new york city"]
    assert phrase_name(["york city"], city)[0] == "Questions about new york city"
    mom = ["please send the email to my mom", "send email to mom saying happy birthday",
           "forward mom the email", "mom's email address"]  # fmt: skip
    assert phrase_name(["mom", "send email"], mom)[0] == "Sending email: mom"
    # a term keeps the noun most of its uses put after it, and no "how many" before it
    wins = ["who has the most wimbledon titles", "most wimbledon titles by a woman",
            "how many wimbledon titles does federer have"]  # fmt: skip
    assert phrase_name(["wimbledon"], wins)[0] == "Questions about wimbledon titles"
    muscles = ["how many muscles are in the body", "how many muscles does a cat have"]
    assert phrase_name(["muscles"], muscles)[0] == "Questions about muscles"


def test_a_group_whose_words_are_each_in_a_few_texts_is_called_varied():
    mixed = ["alexa put classic rock on", "hey alexa turn on disco lights",
             "alexa tell me about bob dean", "alexa save the current song",
             "alexa what is the news", "alexa play chess with me", "alexa stop it",
             "alexa is it raining"]  # fmt: skip
    name, description = phrase_name(["bob", "turn", "play chess"], mixed)
    assert name == "Varied requests"
    assert "little in common" in description
    # a word in most of the texts still names the group
    assert phrase_name(["lights"], [*mixed[:4], *["turn the lights on"] * 4])[0] != name


def test_siblings_sharing_a_use_case_get_it_qualified_not_a_keyword_pair(embedder):
    encode = embedder.encode
    groups = {
        0: ["set an alarm for seven", "wake me up at six", "set my alarm for five thirty"],
        1: ["cancel my alarm", "cancel the alarm for tomorrow", "please cancel all my alarms"],
    }
    centroids = {k: encode(v).mean(axis=0) for k, v in groups.items()}
    names, themes = name_groups_offline(
        UseCaseBank(load_use_cases(), encode), encode, groups, centroids,
        {0: ["set alarm", "wake"], 1: ["cancel", "alarms"]},
    )  # fmt: skip
    plain, qualified = sorted(n for n, _, _ in names.values())
    assert plain == "Setting alarms" and qualified.startswith("Setting alarms: ")
    # both belong to the use case's theme, so they share a parent
    assert themes == {0: "Alarms and timers", 1: "Alarms and timers"}
    # the qualifier says something the use case's name does not
    assert not {"set", "setting", "alarm", "alarms"} & set(qualified.split(": ")[1].split())


def test_a_clear_leader_names_a_group_whose_fit_the_names_in_it_keep_low(embedder):
    encode = embedder.encode
    # written for this test: questions about named people (names lower every similarity)
    groups = {
        0: ["what age is dwayne johnson", "give me some details about this person",
            "when was frida kahlo born", "tell me about this actress", "is keanu reeves married"],
        1: ["turn off the kitchen lights", "dim the lights in the bedroom", "lights on please"],
    }  # fmt: skip
    bank = UseCaseBank(load_use_cases(), encode)
    assert bank.fit(encode(groups[0])).max() < bank.min_fit  # no use case reaches the floor
    centroids = {k: encode(v).mean(axis=0) for k, v in groups.items()}
    names, _ = name_groups_offline(
        bank, encode, groups, centroids, {0: ["born", "age"], 1: ["lights", "dim"]}
    )
    assert names[0][0] == "Facts about people"


def test_a_group_takes_its_best_use_case_qualified_rather_than_a_worse_fitting_one(embedder):
    encode = embedder.encode
    bank = UseCaseBank(
        [
            UseCase("Calendar and meetings", "Calendar", "Events in the calendar.",
                    ("add a meeting on friday", "what's on my calendar tomorrow",
                     "cancel my meeting at three", "move lunch with tom to monday")),
            UseCase("Notes", "Notes", "Taking notes.",
                    ("take a note", "read my notes", "delete my last note")),
        ],
        encode, min_fit=0.1, lead_fit=1.0,  # every use case "fits": only the slack decides
    )  # fmt: skip
    groups = {
        0: ["what's on my calendar for tomorrow", "add a meeting with anna on thursday",
            "cancel my three o'clock meeting"],
        1: ["remind me about the meeting at three", "is the meeting with the team still on",
            "put the dentist on friday at nine"],
    }  # fmt: skip
    fits = bank.fit(encode(groups[1]))
    assert fits[0] - fits[1] > 0.12  # Notes fits the second group far worse than the calendar
    centroids = {k: encode(v).mean(axis=0) for k, v in groups.items()}
    names, _ = name_groups_offline(
        bank, encode, groups, centroids, {0: ["calendar", "add"], 1: ["meeting", "remind"]}
    )
    assert names[0][0] == "Calendar and meetings"
    assert names[1][0].startswith("Calendar and meetings: ")


def test_words_name_a_group_whose_famous_titles_keep_its_embedding_fit_low(embedder):
    encode = embedder.encode
    # written for this test: questions about films, each naming a famous title or person
    groups = {
        0: ["who directed jaws", "who played the lead in casablanca",
            "what year did the film goodfellas come out", "who starred in the matrix",
            "which studio made toy story", "who directed the movie alien"],
        1: ["turn off the kitchen lights", "dim the lights in the bedroom", "lights on please"],
    }  # fmt: skip
    bank = UseCaseBank(load_use_cases(), encode)
    films = [u.name for u in bank.use_cases].index("Films and TV facts")
    plain = bank.fit(encode(groups[0]))
    assert plain[films] < bank.min_fit  # the titles keep the embedding's fit under the floor
    assert bank.vote(encode(groups[0]), groups[0])[0] == films  # the words say films
    centroids = {k: encode(v).mean(axis=0) for k, v in groups.items()}
    names, themes = name_groups_offline(
        bank, encode, groups, centroids, {0: ["directed", "film"], 1: ["lights", "dim"]}
    )
    assert names[0][0] == "Films and TV facts"
    assert themes[0] == "Culture and history"


def test_a_group_the_words_give_to_a_taken_use_case_is_not_named_after_another(embedder):
    encode = embedder.encode
    # written for this test: two groups asking how their voice sounds
    groups = {
        0: ["what do you think of my voice", "is my voice nice to listen to",
            "do you like my voice", "rate my voice out of ten"],
        1: ["how do i sound right now compared to yesterday", "is my voice clearer than yesterday",
            "tell me honestly how i sound at the moment", "do i sound louder than before"],
    }  # fmt: skip
    bank = UseCaseBank(load_use_cases(), encode)
    voice = [u.name for u in bank.use_cases].index("Feedback on how I sound")
    assert bank.vote(encode(groups[1]), groups[1])[0] == voice
    centroids = {k: encode(v).mean(axis=0) for k, v in groups.items()}
    names, _ = name_groups_offline(
        bank, encode, groups, centroids, {0: ["voice", "like"], 1: ["compared", "calm"]}
    )
    assert names[0][0] == "Feedback on how I sound"
    assert names[1][0].startswith("Feedback on how I sound: ")


def test_a_group_in_another_language_keeps_its_language_name(embedder):
    encode = embedder.encode
    # capitals asked in Chinese: the words the classifier knows are English, and it reads the
    # unknown script as a request for translation
    chinese = [
        "请问日本的首都是哪里",
        "埃及的首都是什么",
        "墨西哥的首都在哪里",
        "你知道印度的首都吗",
    ]
    bank = UseCaseBank(load_use_cases(), encode)
    translation = [u.name for u in bank.use_cases].index("Help with writing and translation")
    j, proba, share = bank.vote(encode(chinese), chinese)
    assert (j, share) == (translation, 1.0) and proba >= bank.vote_proba
    assert np.allclose(bank.group_fit(encode(chinese), chinese), bank.fit(encode(chinese)))
    groups = {0: chinese, 1: ["turn off the kitchen lights", "dim the lights", "lights on please"]}
    centroids = {k: encode(v).mean(axis=0) for k, v in groups.items()}
    names, themes = name_groups_offline(bank, encode, groups, centroids, {0: [], 1: ["lights"]})
    assert names[0][0] == "Queries in Chinese"
    # its parent is the one for other languages, not a drawer of whatever is left over
    assert themes[0] == "Queries in other languages" and themes[1] != themes[0]
    # named after the languages of all its queries, not of the central ones shown here
    mixed = {**groups, 0: ["¿cuál es la capital de Perú?", "¿dónde está el banco?"]}
    names, themes = name_groups_offline(
        bank, encode, mixed, centroids, {0: [], 1: ["lights"]},
        languages={0: "Spanish, French and German", 1: ""},
    )  # fmt: skip
    assert names[0][0] == "Queries in Spanish, French and German"
    assert themes[0] == "Queries in other languages" and names[1][0] != names[0][0]
    # a second group in the same language says what it holds, not "(2)"
    greetings = ["你今天好吗", "你好", "最近怎么样", "在吗"]
    two = {**groups, 2: greetings}
    centroids = {k: encode(v).mean(axis=0) for k, v in two.items()}
    names, themes = name_groups_offline(
        bank, encode, two, centroids, {0: ["首都"], 1: ["lights"], 2: ["你今天好吗", "你好"]}
    )
    assert {names[0][0], names[2][0]} == {
        "Queries in Chinese",
        "Queries in Chinese: 你今天好吗",
    } or {names[0][0], names[2][0]} == {"Queries in Chinese", "Queries in Chinese: 首都"}
    assert themes[2] == themes[0] == "Queries in other languages"


def test_a_small_bank_does_not_vote(embedder):
    """A classifier that must pick one of two use cases says little: no vote, the plain fit."""
    encode = embedder.encode
    bank = UseCaseBank(
        [
            UseCase("Smart home", "Home", "Devices.", ("turn off the lights", "make it warmer")),
            UseCase("Questions", "Facts", "Facts.", ("who is the president", "how tall is it")),
        ],
        encode,
    )
    alarms = ["set an alarm for seven", "wake me up at six", "cancel my alarm for monday"]
    assert bank.vote(encode(alarms), alarms)[0] == -1
    assert np.allclose(bank.group_fit(encode(alarms), alarms), bank.fit(encode(alarms)))


def test_names_write_proper_names_as_the_queries_do():
    # people write names with capitals; a word capitalised only where a sentence starts, or in
    # a query typed in capitals, stays lowercase
    texts = ["who was Genghis Khan", "so what was Genghis Khan famous for?", "WHO WAS GENGHIS KHAN",
             "Weather in Mongolia", "what's the weather like. Weather matters"]  # fmt: skip
    assert phrase_name(["genghis khan"], texts)[0] == "Questions about Genghis Khan"
    assert phrase_name(["weather"], texts)[0] == "Questions about weather"
    shouted = ["what does NASA do", "=HYPERLINK(x) what is the weather", "=HYPERLINK(y) weather"]
    assert phrase_name(["nasa"], shouted)[0] == "Questions about NASA"
    assert phrase_name(["hyperlink"], shouted)[0] == "Questions about hyperlink"
    assert qualified_name("History questions", ["genghis khan"], ["rome"], texts) == (
        "History questions: Genghis Khan"
    )


def test_a_group_in_another_language_takes_no_use_case_even_one_that_fits(embedder):
    """The bank's English examples fit text in another language by chance; a bank whose
    examples are the group's own Chinese questions fits them for sure, and still the group is
    named after its language."""
    encode = embedder.encode
    chinese = [
        "土耳其首都是什么",
        "你知道土耳其的首都吗",
        "请问土耳其首都是什么",
        "埃及的首都是什么",
    ]
    bank = UseCaseBank(
        [
            UseCase("Capital cities", "Geography", "Capitals.", tuple(chinese)),
            UseCase("Smart home", "Home", "Devices.", ("turn off the lights", "dim the lamp")),
        ],
        encode,
    )
    groups = {0: chinese, 1: ["turn off the kitchen lights", "dim the lights", "lights on please"]}
    centroids = {k: encode(v).mean(axis=0) for k, v in groups.items()}
    names, themes = name_groups_offline(bank, encode, groups, centroids, {0: [], 1: ["lights"]})
    assert names[0][0] == "Queries in Chinese" and themes[0] == "Queries in other languages"
    assert names[1][0] == "Smart home"
