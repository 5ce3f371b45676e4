"""Queries genuinely spoken in Spanish, French, German and Mandarin, with same-language answers.

Each item also carries `en`, the English rendering a system uses when it answers in the
wrong language (English to a non-English speaker).
"""

from __future__ import annotations

from arenalens.sample.banks import Subtopic, rows

LANGUAGE_NAMES = {
    "en": "English",
    "es": "Spanish",
    "fr": "French",
    "de": "German",
    "zh": "Chinese",
    "th": "Thai",
}

FOREIGN_LEADS: dict[str, tuple[str, ...]] = {
    "es": ("", "", "oye ", "bueno ", "a ver ", "eh "),
    "fr": ("", "", "euh ", "alors ", "dis-moi ", "bon "),
    "de": ("", "", "ähm ", "also ", "sag mal ", "hey "),
    "zh": ("", "", "请问", "那个", "嗯", "你好，"),
}

FOREIGN: dict[str, tuple[Subtopic, ...]] = {
    "es": (
        Subtopic(
            "geography",
            "knowledge",
            queries=(
                "¿cuál es la capital de {x}?",
                "¿sabes cuál es la capital de {x}?",
                "capital de {x}",
            ),
            answers=("La capital de {x} es {a}.", "Es {a}."),
            items=rows(
                "x a en",
                ("Australia", "Canberra", "The capital of Australia is Canberra."),
                ("Canadá", "Ottawa", "The capital of Canada is Ottawa."),
                ("Brasil", "Brasilia", "The capital of Brazil is Brasília."),
                ("Turquía", "Ankara", "The capital of Turkey is Ankara."),
            ),
        ),
        Subtopic(
            "history_fact",
            "knowledge",
            queries=("¿en qué año fue {x}?", "¿cuándo fue {x}?", "dime cuándo fue {x}"),
            answers=("{X} fue en {a}.", "Fue en {a}."),
            items=rows(
                "x a en",
                ("la caída del muro de Berlín", "1989", "The Berlin Wall fell in 1989."),
                ("la llegada a la luna", "1969", "The moon landing was in 1969."),
                ("la Revolución Francesa", "1789", "The French Revolution began in 1789."),
            ),
        ),
        Subtopic(
            "cooking",
            "advice",
            queries=(
                "¿qué puedo cocinar con {x}?",
                "tengo {x}, ¿qué hago de cena?",
                "¿una receta fácil con {x}?",
            ),
            answers=("Puedes hacer {a}.", "¿Qué tal {a}?"),
            items=rows(
                "x a en",
                ("huevos y patatas", "una tortilla española", "You could make a Spanish omelette."),
                ("arroz y pollo", "un arroz con pollo", "You could make chicken and rice."),
                ("tomates", "un gazpacho", "You could make gazpacho."),
            ),
        ),
        Subtopic(
            "set_timer",
            "task_execution",
            queries=(
                "pon un temporizador de {x}",
                "temporizador de {x}, por favor",
                "¿puedes poner una alarma en {x}?",
            ),
            answers=("Listo, temporizador de {x}.", "Temporizador de {x} en marcha."),
            items=rows(
                "x en",
                ("diez minutos", "Timer set for ten minutes."),
                ("cinco minutos", "Timer set for five minutes."),
                ("media hora", "Timer set for half an hour."),
            ),
        ),
        Subtopic(
            "greeting",
            "chit_chat",
            queries=("hola, ¿{x}?", "buenas, ¿{x}?", "oye, ¿{x}?"),
            answers=("¡Hola! {a}", "{a} ¿En qué te ayudo?"),
            items=rows(
                "x a en",
                ("cómo estás", "Muy bien, gracias.", "Hi! I'm doing well, thanks."),
                ("qué tal", "Todo bien por aquí.", "Hi! All good here."),
                ("cómo te va", "Me va genial, gracias.", "Hi! Going great, thanks."),
            ),
        ),
    ),
    "fr": (
        Subtopic(
            "geography",
            "knowledge",
            queries=(
                "quelle est la capitale {x} ?",
                "c'est quoi la capitale {x} ?",
                "tu connais la capitale {x} ?",
            ),
            answers=("La capitale {x} est {a}.", "C'est {a}."),
            items=rows(
                "x a en",
                ("de l'Australie", "Canberra", "The capital of Australia is Canberra."),
                ("du Canada", "Ottawa", "The capital of Canada is Ottawa."),
                ("du Maroc", "Rabat", "The capital of Morocco is Rabat."),
                ("de la Suisse", "Berne", "The capital of Switzerland is Bern."),
            ),
        ),
        Subtopic(
            "definitions",
            "knowledge",
            queries=(
                "que veut dire {x} ?",
                "ça veut dire quoi, {x} ?",
                "c'est quoi le sens de {x} ?",
            ),
            answers=("{X} veut dire {a}.", "Ça signifie {a}."),
            items=rows(
                "x a en",
                ("éphémère", "qui dure peu de temps", "Ephemeral means lasting a short time."),
                ("flâner", "se promener sans but", "Flâner means to stroll without a goal."),
                (
                    "dépaysement",
                    "le sentiment d'être hors de chez soi",
                    "Dépaysement is the feeling of being out of your element.",
                ),
            ),
        ),
        Subtopic(
            "travel",
            "advice",
            queries=(
                "tu as des conseils pour {x} ?",
                "comment je peux {x} ?",
                "quelle est la meilleure façon de {x} ?",
            ),
            answers=("{A}.", "Je te conseille de {a}."),
            items=rows(
                "x a en",
                (
                    "visiter Paris pas cher",
                    "prendre le métro et visiter les musées gratuits le dimanche",
                    "Take the metro and visit free museums on Sundays.",
                ),
                (
                    "éviter le décalage horaire",
                    "te mettre tout de suite à l'heure locale",
                    "Switch to local time right away.",
                ),
                (
                    "voyager avec un bébé",
                    "prévoir des collations et des vêtements de rechange",
                    "Bring snacks and spare clothes.",
                ),
            ),
        ),
        Subtopic(
            "set_reminder",
            "task_execution",
            queries=(
                "rappelle-moi de {x} {w}",
                "tu peux me rappeler de {x} {w} ?",
                "mets un rappel pour {x} {w}",
            ),
            answers=("D'accord, je te rappellerai de {x} {w}.", "Rappel créé : {x}, {w}."),
            items=rows(
                "x w en",
                (
                    "appeler ma mère",
                    "demain",
                    "Okay, I'll remind you to call your mother tomorrow.",
                ),
                ("acheter du pain", "ce soir", "Okay, I'll remind you to buy bread tonight."),
                ("payer le loyer", "lundi", "Okay, I'll remind you to pay the rent on Monday."),
            ),
        ),
    ),
    "de": (
        Subtopic(
            "science_fact",
            "knowledge",
            queries=("warum {x}?", "kannst du mir erklären, warum {x}?", "wieso {x}?"),
            answers=("Weil {a}.", "Das liegt daran, dass {a}."),
            items=rows(
                "x a en",
                (
                    "ist der Himmel blau",
                    "die Luft blaues Licht stärker streut",
                    "Because air scatters blue light more.",
                ),
                (
                    "schwimmt Eis",
                    "Wasser sich beim Gefrieren ausdehnt",
                    "Because water expands when it freezes.",
                ),
                (
                    "gibt es Jahreszeiten",
                    "die Erdachse geneigt ist",
                    "Because the Earth's axis is tilted.",
                ),
            ),
        ),
        Subtopic(
            "unit_conversion",
            "task_execution",
            queries=("wie viel sind {x} in {w}?", "rechne {x} in {w} um", "{x} in {w}, bitte"),
            answers=("{X} sind {a}.", "Das sind ungefähr {a}."),
            items=rows(
                "x w a en",
                (
                    "fünf Meilen",
                    "Kilometer",
                    "etwa acht Kilometer",
                    "Five miles is about eight kilometers.",
                ),
                ("zehn Pfund", "Kilo", "etwa 4,5 Kilo", "Ten pounds is about 4.5 kilograms."),
                (
                    "350 Grad Fahrenheit",
                    "Celsius",
                    "etwa 175 Grad Celsius",
                    "350 Fahrenheit is about 175 Celsius.",
                ),
            ),
        ),
        Subtopic(
            "career",
            "advice",
            queries=(
                "wie kann ich {x}?",
                "hast du Tipps, wie ich {x}?",
                "was ist der beste Weg, {x}?",
            ),
            answers=("{A}.", "Mein Tipp: {a}."),
            items=rows(
                "x a en",
                (
                    "nach einer Gehaltserhöhung fragen",
                    "Bereite Zahlen zu deinen Erfolgen vor",
                    "Prepare numbers on your achievements.",
                ),
                (
                    "mich auf ein Vorstellungsgespräch vorbereiten",
                    "Recherchiere die Firma und übe drei Beispiele",
                    "Research the company and practise three examples.",
                ),
            ),
        ),
        Subtopic(
            "jokes",
            "chit_chat",
            queries=(
                "erzähl mir einen Witz über {x}",
                "kennst du einen Witz über {x}?",
                "mach mal einen {x}-Witz",
            ),
            answers=("{A}", "Okay: {a}"),
            items=rows(
                "x a en",
                (
                    "Katzen",
                    "Was macht eine Katze am Computer? Sie passt auf die Maus auf.",
                    "Why is the cat at the computer? To watch the mouse.",
                ),
                (
                    "Mathe",
                    "Warum hat die Sechs Angst vor der Sieben? Weil sieben neun gegessen hat.",
                    "Why was six afraid of seven? Because seven ate nine.",
                ),
            ),
        ),
    ),
    "zh": (
        Subtopic(
            "geography",
            "knowledge",
            queries=("{x}的首都是哪里？", "你知道{x}的首都吗？", "{x}首都是什么？"),
            answers=("{x}的首都是{a}。", "是{a}。"),
            items=rows(
                "x a en",
                ("澳大利亚", "堪培拉", "The capital of Australia is Canberra."),
                ("加拿大", "渥太华", "The capital of Canada is Ottawa."),
                ("巴西", "巴西利亚", "The capital of Brazil is Brasília."),
                ("土耳其", "安卡拉", "The capital of Turkey is Ankara."),
            ),
        ),
        Subtopic(
            "translation",
            "task_execution",
            queries=("“{x}”用英语怎么说？", "帮我把“{x}”翻译成英文", "“{x}”英文是什么？"),
            answers=("“{x}”的英文是“{a}”。", "可以说“{a}”。"),
            items=rows(
                "x a en",
                ("谢谢你", "thank you", "'谢谢你' in English is 'thank you'."),
                (
                    "火车站在哪里",
                    "where is the train station",
                    "That's 'where is the train station'.",
                ),
                ("很高兴认识你", "nice to meet you", "That's 'nice to meet you'."),
            ),
        ),
        Subtopic(
            "health_fitness",
            "advice",
            queries=("怎么才能{x}？", "有什么办法可以{x}？", "我想{x}，有什么建议？"),
            answers=("{a}。", "建议你{a}。"),
            items=rows(
                "x a en",
                ("早点睡觉", "睡前一小时不要看手机", "Put your phone away an hour before bed."),
                ("多喝水", "每顿饭配一杯水", "Drink a glass of water with every meal."),
                (
                    "开始跑步",
                    "从跑走结合开始，每周三次",
                    "Start with run-walk intervals three times a week.",
                ),
            ),
        ),
        Subtopic(
            "greeting",
            "chit_chat",
            queries=("你好，{x}", "嗨，{x}", "{x}"),
            answers=("你好！{a}", "{a}有什么可以帮你的？"),
            items=rows(
                "x a en",
                ("最近怎么样？", "我很好，谢谢。", "Hi! I'm well, thanks."),
                ("你今天好吗？", "挺好的，谢谢你问。", "Hi! Pretty good, thanks for asking."),
                ("在吗？", "我在。", "Hi! I'm here."),
            ),
        ),
    ),
}
