"""An example Python plugin for Hark: two node classes.

    Title  (transform): title-cases each text, keeping the words listed in
                        the `small` setting in lower case ("The Lord of the
                        Rings"); raises ValueError on an empty text
    Count  (source):    emits "1", "2", ... up to the `to` setting (3)

Run:  echo "the lord of the rings" | hark run pipelines/python-title.ron

A node class is built with the pipeline's `settings` map as a dict. A
transform or sink defines on_message(self, message); a source produce(self)
(return None when done). Both may define flush(self) (every input ended)
and close(self). Returned values are sent on: None sends nothing, a list
sends each item. Text is `str`, audio `hark.Audio`, an intent a dict.
"""


class Title:
    def __init__(self, settings):
        self.small = set(settings.get("small", ["a", "an", "and", "of", "the", "in", "on"]))

    def on_message(self, message):
        if not isinstance(message, str):
            return message  # not text: pass it on unchanged
        words = message.split()
        if not words:
            raise ValueError("nothing to title-case")
        return " ".join(
            word.lower() if i > 0 and word.lower() in self.small else word.capitalize()
            for i, word in enumerate(words)
        )


class Count:
    def __init__(self, settings):
        self.to = int(settings.get("to", 3))
        self.next = 1

    def produce(self):
        if self.next > self.to:
            return None
        self.next += 1
        return str(self.next - 1)
