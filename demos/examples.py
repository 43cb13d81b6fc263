"""Example inputs the app offers for each task.

The shipped-model test imports these too, so every example shown in the
app is known to produce an output with every shipped model.
"""

TRANSLATION_EXAMPLES = [
    "¿Dónde está la estación de tren?",
    "Me gusta mucho leer libros por la noche.",
    "Hoy hace mucho calor.",
    "Mi hermano vive en Madrid con su familia.",
    "¿Puedes ayudarme, por favor?",
    "No tengo tiempo para comer.",
]

SUMMARIZATION_EXAMPLES = [
    "Hi all, the weekly team meeting is moved from Monday to Tuesday at 10 am "
    "in conference room B, because several people are travelling on Monday. "
    "Please update your calendars and let me know if the new time does not work.",
    "Please find attached the final version of the third quarter budget. "
    "Compared to the draft, marketing costs went down by five percent. Let me "
    "know if you have any questions before the board meeting on Friday.",
    "The mail server will be down for maintenance this Saturday from 8 pm to "
    "midnight. You will not be able to send or receive email during that time, "
    "so please plan accordingly.",
    "Thank you for your interview yesterday. We were impressed by your "
    "experience and would like to invite you to a second interview with the "
    "head of engineering next Wednesday at 2 pm.",
]

CHAT_EXAMPLES = [
    "Hi, how are you doing today?",
    "What would you like to eat tonight?",
    "Excuse me, where is the nearest bank?",
    "Do you want to see a movie this weekend?",
    "I have a terrible headache.",
]

EXAMPLES = {
    "translation": TRANSLATION_EXAMPLES,
    "summarization": SUMMARIZATION_EXAMPLES,
    "dialogue": CHAT_EXAMPLES,
}
