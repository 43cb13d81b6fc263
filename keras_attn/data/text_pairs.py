"""Source/target text pairs loaded from a data file."""

import dataclasses


@dataclasses.dataclass
class TextPairs:
    """Parallel lists of source and target texts, as the loaders return them.

    Iterating gives `(source, target)` tuples; `len()` is the number of
    pairs. Feed them to a model as
    `{"encoder_text": pairs.sources, "decoder_text": pairs.targets}`.

    Args:
        sources: list of str, the inputs.
        targets: list of str, the reference outputs.
        references: list of lists of str, or None: extra references per row
            (e.g. AESLC's annotator subjects). Row `i`'s references are
            `[targets[i]] + references[i]`; see `all_references()`.
        path: str, the file the pairs came from (`archive.zip:member` for a
            file inside a zip).
        skipped: dict, reason -> number of rows skipped for it (only with
            `on_error="skip"`; empty otherwise).

    Example:
    >>> pairs = keras_attn.data.TextPairs(["hola"], ["hello"], [["hi"]])
    >>> list(pairs), pairs.all_references()
    ([('hola', 'hello')], [['hello', 'hi']])
    """

    sources: list[str]
    targets: list[str]
    references: list[list[str]] | None = None
    path: str = ""
    skipped: dict[str, int] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if len(self.sources) != len(self.targets):
            raise ValueError(
                "`sources` and `targets` must have the same length. Received: "
                f"{len(self.sources)} sources and {len(self.targets)} targets"
            )
        if self.references is not None and len(self.references) != len(self.sources):
            raise ValueError(
                "`references` must have one list per pair. Received: "
                f"{len(self.references)} lists for {len(self.sources)} pairs"
            )

    def __len__(self):
        return len(self.sources)

    def __iter__(self):
        return zip(self.sources, self.targets, strict=True)

    def all_references(self):
        """Every reference of every row, the target first.

        Returns:
            A list with, for row `i`, `[targets[i]] + references[i]` (just
            `[targets[i]]` when there are no extra references), the shape
            multi-reference metrics such as BLEU and ROUGE take.
        """
        if self.references is None:
            return [[target] for target in self.targets]
        return [
            [target, *extra]
            for target, extra in zip(self.targets, self.references, strict=True)
        ]
