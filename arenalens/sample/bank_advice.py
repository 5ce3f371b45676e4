"""Advice seeking (~17% of queries), a quarter of it about how the speaker sounds."""

from __future__ import annotations

from arenalens.sample.banks import Subtopic, rows

A = "advice"

ADVICE: tuple[Subtopic, ...] = (
    Subtopic(
        "career",
        A,
        queries=(
            "how do I {x}",
            "any advice on how to {x}",
            "I need to {x}, where do I even start",
            "what's the best way to {x}",
            "so I've been stressing about it, how should I {x}",
            "my friend told me to just wing it but how do I {x}",
            "can you give me tips to {x}",
        ),
        answers=("{A}. {d}", "Here's what I'd do: {a}. {d}", "Try this: {a}. {d}"),
        items=rows(
            "x a d",
            (
                "ask my boss for a raise",
                "bring numbers on what you've delivered and a target figure",
                "Ask for a meeting rather than raising it in passing.",
            ),
            (
                "prepare for a job interview",
                "research the company and practise three stories about your work",
                "Have a question ready for them at the end.",
            ),
            (
                "write a good resume",
                "keep it to one page and lead each line with a result",
                "Numbers stand out.",
            ),
            (
                "switch careers at thirty",
                "list the skills that transfer and take one small course",
                "Talk to people already doing the job.",
            ),
            (
                "deal with a difficult coworker",
                "talk to them privately and describe the behaviour, not the person",
                "Keep notes if it continues.",
            ),
            (
                "negotiate a job offer",
                "thank them, then ask whether there's room on salary or start date",
                "Silence after your number is fine.",
            ),
            (
                "get a promotion",
                "tell your manager you want it and ask what's missing",
                "Then deliver on exactly that.",
            ),
            (
                "quit my job politely",
                "tell your manager first, in person, and offer a clean handover",
                "Put it in writing afterwards.",
            ),
        ),
        weight=1.2,
    ),
    Subtopic(
        "health_fitness",
        A,
        queries=(
            "what's a good way to {x}",
            "how can I {x}",
            "I really want to {x}, any tips",
            "so my doctor said I should {x}, how do I start",
            "what's the easiest way to {x}",
        ),
        answers=("{A}. {d}", "A simple start: {a}. {d}"),
        items=rows(
            "x a d",
            (
                "start running",
                "begin with run-walk intervals three times a week",
                "Build up by about ten percent a week.",
            ),
            (
                "drink more water",
                "keep a bottle in sight and drink a glass with each meal",
                "Apps with reminders help some people.",
            ),
            (
                "build some muscle at home",
                "do push-ups, squats and rows two or three times a week",
                "Add reps before adding difficulty.",
            ),
            (
                "lose a bit of weight",
                "cut sugary drinks and add a daily walk",
                "Small steady changes last longer.",
            ),
            (
                "fix my posture",
                "raise your screen to eye level and take short breaks",
                "Strengthen your back with rows.",
            ),
            (
                "stretch in the morning",
                "do five minutes of gentle neck, hip and hamstring stretches",
                "Don't bounce.",
            ),
            (
                "eat more vegetables",
                "add one vegetable to every meal you already eat",
                "Frozen ones count.",
            ),
        ),
    ),
    Subtopic(
        "sleep",
        A,
        queries=(
            "I can't {x}, what should I do",
            "how do I {x}",
            "any tips to {x}",
            "it's 2am and I still can't {x}, help",
            "why can't I {x} and what do I do",
        ),
        answers=("{A}. {d}", "Try this tonight: {a}. {d}"),
        items=rows(
            "x a d",
            (
                "fall asleep",
                "put the phone away an hour before bed and keep the room cool",
                "Get up if you're awake after twenty minutes.",
            ),
            (
                "wake up early",
                "move your alarm fifteen minutes earlier each week",
                "Get daylight soon after waking.",
            ),
            (
                "stop snoozing my alarm",
                "put the alarm across the room",
                "Have something to look forward to in the morning.",
            ),
            (
                "nap without feeling groggy",
                "keep naps to twenty minutes",
                "Nap before mid-afternoon.",
            ),
            (
                "sleep on a plane",
                "pick a window seat and bring an eye mask and earplugs",
                "Skip coffee before the flight.",
            ),
        ),
    ),
    Subtopic(
        "relationships",
        A,
        queries=(
            "how do I {x}",
            "what should I say to {x}",
            "I don't know how to {x}",
            "okay this is awkward but how do I {x}",
            "need some advice, how do I {x}",
            "my sister says I'm overthinking it but how do I {x}",
        ),
        answers=("{A}. {d}", "Honestly, {a}. {d}"),
        items=rows(
            "x a d",
            (
                "apologise to my best friend",
                "say what you did, that you're sorry, and what you'll do differently",
                "Don't add excuses.",
            ),
            (
                "tell my roommate to clean up",
                "pick a calm moment and suggest a simple chore rota",
                "Frame it as something you both need.",
            ),
            (
                "make friends in a new city",
                "join one weekly activity and keep showing up",
                "Familiarity builds friendships.",
            ),
            (
                "ask someone out",
                "keep it simple and specific, like coffee on Saturday",
                "A clear question is easier to answer.",
            ),
            (
                "support a friend who's grieving",
                "show up, listen, and offer specific help like a meal",
                "Avoid telling them how to feel.",
            ),
            (
                "set boundaries with my parents",
                "say kindly and clearly what you will and won't do",
                "Then stick to it calmly.",
            ),
            (
                "get over a breakup",
                "give it time, lean on friends, and limit checking their socials",
                "Routines help.",
            ),
        ),
        weight=1.1,
    ),
    Subtopic(
        "cooking",
        A,
        queries=(
            "what can I make with {x}",
            "I only have {x}, what should I cook",
            "any recipe ideas with {x}",
            "what's a quick dinner with {x}",
            "so I've got {x} in the fridge, what do I make",
            "how should I cook {x}",
        ),
        answers=("You could make {a}. {d}", "How about {a}? {d}"),
        items=rows(
            "x a d",
            (
                "eggs and spinach",
                "a quick frittata",
                "Cook the spinach first, pour the eggs over, finish in the oven.",
            ),
            (
                "chicken and rice",
                "a one-pot chicken pilaf",
                "Brown the chicken, then simmer with rice and stock.",
            ),
            (
                "pasta and canned tomatoes",
                "a simple marinara",
                "Garlic, olive oil, tomatoes, fifteen minutes.",
            ),
            ("leftover bread", "French toast", "Stale bread soaks the egg better."),
            (
                "potatoes and cheese",
                "a potato gratin",
                "Thin slices, cream, cheese, bake for an hour.",
            ),
            ("chickpeas", "a chickpea curry", "Onion, garlic, curry paste, coconut milk."),
            (
                "salmon",
                "pan-seared salmon with lemon",
                "Skin side down until crisp, then flip briefly.",
            ),
            ("ripe bananas", "banana bread", "The browner the bananas the better."),
            ("tofu", "crispy tofu stir-fry", "Press it first and fry in cornstarch."),
        ),
        weight=1.2,
    ),
    Subtopic(
        "travel",
        A,
        queries=(
            "what should I {x}",
            "any tips for {x}",
            "I'm going abroad soon, how do I {x}",
            "first time traveling alone, how should I {x}",
            "what's the smartest way to {x}",
        ),
        answers=("{A}. {d}", "My suggestion: {a}. {d}"),
        items=rows(
            "x a d",
            (
                "pack for a week in Japan",
                "pack light layers and comfortable walking shoes",
                "Many hotels have coin laundries.",
            ),
            (
                "do about jet lag",
                "switch to local time right away and get morning light",
                "Avoid long naps on day one.",
            ),
            (
                "find cheap flights",
                "be flexible on dates and set price alerts",
                "Tuesdays and Wednesdays are often cheaper.",
            ),
            (
                "keep my passport safe",
                "carry a photo copy and keep the original in the hotel safe",
                "Email yourself a scan too.",
            ),
            (
                "plan a weekend in Rome",
                "book the Vatican early and walk between the sights",
                "Eat away from the main squares.",
            ),
            (
                "travel with a toddler",
                "bring snacks, a small new toy and extra clothes",
                "Book flights around nap time.",
            ),
            (
                "get around without speaking the language",
                "download offline maps and a translation app",
                "Learn hello, please and thank you.",
            ),
        ),
    ),
    Subtopic(
        "money",
        A,
        queries=(
            "how should I {x}",
            "what's the best way to {x}",
            "I'm bad with money, how do I {x}",
            "is it smart to {x}",
            "any advice on how to {x}",
            "so I just got paid, how do I {x}",
        ),
        answers=("{A}. {d}", "A common approach: {a}. {d}"),
        items=rows(
            "x a d",
            (
                "start saving money",
                "move a fixed amount to savings on payday",
                "Automate it so you don't have to decide.",
            ),
            (
                "make a budget",
                "try 50/30/20: needs, wants, savings",
                "Track spending for a month first.",
            ),
            (
                "pay off credit card debt",
                "pay the highest interest card first and minimums on the rest",
                "Stop adding new charges.",
            ),
            (
                "start investing",
                "begin with a low-cost index fund",
                "Only invest money you won't need soon.",
            ),
            (
                "build an emergency fund",
                "aim for three months of expenses",
                "Keep it in a separate savings account.",
            ),
            (
                "save for a house",
                "set a monthly target and keep it in a high-interest account",
                "Check first-time buyer schemes.",
            ),
        ),
    ),
    Subtopic(
        "study",
        A,
        queries=(
            "how can I {x}",
            "what's a good way to {x}",
            "I have exams next week, how do I {x}",
            "tips to {x}",
            "so I keep failing to {x}, what works",
        ),
        answers=("{A}. {d}", "What works for most people: {a}. {d}"),
        items=rows(
            "x a d",
            (
                "focus while studying",
                "work in 25-minute blocks with the phone in another room",
                "Take five-minute breaks.",
            ),
            (
                "remember what I read",
                "test yourself instead of rereading",
                "Spaced repetition helps.",
            ),
            (
                "learn a language fast",
                "practise a little every day and speak from day one",
                "Listen to podcasts in the language.",
            ),
            (
                "write an essay quickly",
                "outline first, then write without editing",
                "Edit in a second pass.",
            ),
            (
                "stop procrastinating",
                "start with a two-minute task",
                "Momentum makes the rest easier.",
            ),
        ),
    ),
    Subtopic(
        "home_diy",
        A,
        queries=(
            "how do I {x}",
            "what's the easiest way to {x}",
            "can you tell me how to {x}",
            "my landlord won't help, how do I {x}",
            "is it hard to {x} myself",
        ),
        answers=("{A}. {d}", "You can do it yourself: {a}. {d}"),
        items=rows(
            "x a d",
            (
                "unclog a drain",
                "pour in baking soda, then vinegar, then hot water",
                "A plunger or drain snake for worse clogs.",
            ),
            (
                "get rid of fruit flies",
                "set a trap with cider vinegar and a drop of dish soap",
                "Take out the compost.",
            ),
            (
                "hang a heavy mirror",
                "find a stud or use heavy-duty wall anchors",
                "Use two hooks to keep it level.",
            ),
            (
                "remove a wine stain",
                "blot it and cover with salt or baking soda",
                "Then wash with cold water.",
            ),
            (
                "keep my plants alive",
                "water when the top inch of soil is dry",
                "Most houseplants die from overwatering.",
            ),
        ),
    ),
    Subtopic(
        "interview_voice",
        A,
        queries=(
            "does my voice sound {x} for my interview",
            "listen to my intro, do I sound {x}",
            "I'm practicing my pitch, do I come across as {x}",
            "be honest, do I sound {x} when I say this",
            "here's how I'll answer, does it sound {x}",
            "can you hear if I sound {x} in this answer",
        ),
        answers=("You sound {a}. {d}", "From your voice, {a}. {d}"),
        items=rows(
            "x a d",
            (
                "nervous",
                "a little tense, your pace speeds up at the end",
                "Pause between sentences and breathe.",
            ),
            (
                "confident",
                "fairly steady and clear",
                "Drop your pitch slightly at the end of statements.",
            ),
            ("too monotone", "quite flat in the middle part", "Stress the key words more."),
            ("rushed", "fast, especially in the second half", "Aim for a slower, even pace."),
            (
                "too quiet",
                "soft; the ends of sentences fade",
                "Project toward the back of the room.",
            ),
            ("enthusiastic", "warm and energetic", "Keep that energy on your closing line."),
        ),
        modality="audio_primary",
        weight=1.6,
    ),
    Subtopic(
        "speech_delivery",
        A,
        queries=(
            "I'm practicing my {x}, how's my delivery",
            "listen to my {x} and tell me how to say it better",
            "can you coach me on my {x}, here goes",
            "does my {x} sound okay when I read it out",
            "how's my pacing on this {x}",
        ),
        answers=("Your {x} sounds {a}. {d}", "Nice try! It sounds {a}. {d}"),
        items=rows(
            "x a d",
            (
                "wedding toast",
                "heartfelt but a bit quick",
                "Slow down on the funny line so it lands.",
            ),
            (
                "best man speech",
                "lively, though you trail off at the end",
                "Finish the last sentence strongly.",
            ),
            (
                "presentation opening",
                "clear, with some filler words",
                "Replace the ums with a short pause.",
            ),
            ("elevator pitch", "confident but a little flat", "Lift your voice on the key number."),
            ("eulogy", "sincere and steady", "It's fine to pause when you need to."),
        ),
        modality="audio_primary",
        weight=1.3,
    ),
    Subtopic(
        "singing_feedback",
        A,
        queries=(
            "am I singing {x} right",
            "how can I improve my singing, listen to {x}",
            "I'm auditioning with {x}, how's my voice",
            "rate my singing of {x}",
            "was I in tune when I sang {x}",
        ),
        answers=("You were {a}. {d}", "Not bad! You were {a}. {d}"),
        items=rows(
            "x a d",
            (
                "this chorus",
                "mostly in tune but flat on the high note",
                "Support the breath before that note.",
            ),
            ("Hallelujah", "on pitch with a nice tone", "Open up the vowels more."),
            ("Let It Be", "slightly behind the beat", "Tap your foot to keep time."),
            ("this scale", "a bit sharp near the top", "Relax your throat going up."),
            ("Happy Birthday", "in tune and steady", "Try adding a little vibrato at the end."),
        ),
        modality="audio_primary",
        weight=0.8,
    ),
)
