"""A tiny artificial language in which a word must agree with a cue many words earlier.

Every sentence is left-padded to a fixed length and starts with its **cue**, a country; the
last word is the **query**, "fluent", after which the language of that country must follow
("France ... fluent" -> French). Between them come ``gap - 1`` random filler words, and a
filler slot holds, with a small probability, a **distractor**: another country, as in "my
sister moved to Spain". The answer always agrees with the first country, so the words in
the gap carry nothing the answer needs and some of them look like the cue. Short gaps are
common and long ones rare, as in real text: gap N is drawn with probability proportional to
``N ** -gap_exponent``.

NumPy only: the sentences are token ids for a Keras ``Embedding``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vgrad_course.seeds import make_rng
from vgrad_course.validation import check_int

#: The cues and, in the same order, the languages that agree with them (the classes).
COUNTRIES: tuple[str, ...] = ("France", "Germany", "Spain", "Italy", "Portugal")
LANGUAGES: tuple[str, ...] = ("French", "German", "Spanish", "Italian", "Portuguese")
#: Words that fill the gap; none of them says anything about the answer.
FILLERS: tuple[str, ...] = (
    "the", "old", "house", "was", "near", "a", "river", "we", "often", "walked",
    "with", "our", "dog", "and", "later", "my", "sister", "moved", "to", "work",
)  # fmt: skip
#: Token 0 pads a sentence on the left; the last token is the query word.
VOCABULARY: tuple[str, ...] = ("·", *COUNTRIES, *FILLERS, "fluent")
PAD: int = 0
QUERY: int = len(VOCABULARY) - 1
#: Accuracy of a model that ignores the cue: one language in five.
CHANCE: float = 1.0 / len(LANGUAGES)


@dataclass(frozen=True)
class Sentences:
    """A batch of sentences of the agreement language.

    Attributes:
        x: Token ids, int32 of shape ``(n, seq_len)``; the query is the last token.
        y: The class of the agreeing word (an index into ``LANGUAGES``), shape ``(n,)``.
        gaps: Distance from the cue to the query in tokens, shape ``(n,)``: the cue sits at
            position ``seq_len - 1 - gap``.
    """

    x: np.ndarray
    y: np.ndarray
    gaps: np.ndarray


def make_sentences(
    n: int,
    seq_len: int,
    *,
    gaps: np.ndarray | None = None,
    gap_exponent: float = 1.0,
    distractor_rate: float = 0.1,
    seed: int = 0,
) -> Sentences:
    """Generate ``n`` sentences whose last word must agree with a cue ``gap`` tokens earlier.

    Args:
        n: Number of sentences.
        seq_len: Tokens per sentence, padding included (at least 2: a cue and the query).
        gaps: The gap of each sentence, integers in ``[1, seq_len - 1]`` (None: drawn from
            that range with :func:`gap_probabilities`).
        gap_exponent: When ``gaps`` is None: gap N has probability proportional to
            ``N ** -gap_exponent`` (0: every gap equally likely).
        distractor_rate: Probability that a slot between the cue and the query holds a
            random country instead of a filler word (0: no distractors).
        seed: Seed of the NumPy generator (shifted by ``VGRAD_SEED_OFFSET``).

    Returns:
        The :class:`Sentences`.

    Used in: "I grew up in France … I speak fluent French: agreement across a gap".
    """
    n = check_int("n", n)
    seq_len = check_int("seq_len", seq_len, minimum=2)
    if not 0.0 <= distractor_rate <= 1.0:
        raise ValueError(f"distractor_rate must be in [0, 1], got {distractor_rate!r}")
    rng = make_rng(seed)
    if gaps is None:
        gaps = rng.choice(np.arange(1, seq_len), size=n, p=gap_probabilities(seq_len, gap_exponent))
    gaps = np.asarray(gaps)
    if gaps.shape != (n,) or not np.issubdtype(gaps.dtype, np.integer):
        raise ValueError(f"gaps must be {n} integers, got shape {gaps.shape} ({gaps.dtype})")
    if gaps.min() < 1 or gaps.max() > seq_len - 1:
        raise ValueError(f"gaps must lie in [1, {seq_len - 1}], got {gaps.min()}..{gaps.max()}")
    y = rng.integers(0, len(COUNTRIES), size=n)
    x = rng.integers(1 + len(COUNTRIES), QUERY, size=(n, seq_len))  # fillers everywhere
    position = np.arange(seq_len)[None, :]
    cue = (seq_len - 1 - gaps)[:, None]
    between = (position > cue) & (position < seq_len - 1)
    distractor = between & (rng.random((n, seq_len)) < distractor_rate)
    x[distractor] = 1 + rng.integers(0, len(COUNTRIES), size=int(distractor.sum()))
    x[position < cue] = PAD
    x[:, -1] = QUERY
    x[np.arange(n), cue[:, 0]] = 1 + y
    return Sentences(x.astype(np.int32), y, gaps)


def gap_probabilities(seq_len: int, gap_exponent: float = 1.0) -> np.ndarray:
    """Return the probability of each gap 1 ... ``seq_len - 1``: proportional to N^-exponent.

    Args:
        seq_len: Tokens per sentence.
        gap_exponent: The exponent (0: uniform; 1: gap N is N times rarer than gap 1).

    Returns:
        float64 array of shape ``(seq_len - 1,)`` summing to 1; entry ``N - 1`` is gap N.

    Used in: "I grew up in France … I speak fluent French: agreement across a gap".
    """
    gaps = np.arange(1, check_int("seq_len", seq_len, minimum=2), dtype=np.float64)
    if not np.isfinite(gap_exponent) or gap_exponent < 0:
        raise ValueError(f"gap_exponent must be a number >= 0, got {gap_exponent!r}")
    weights = gaps**-gap_exponent
    return weights / weights.sum()


def sentences_per_gap(
    per_gap: int, seq_len: int, *, distractor_rate: float = 0.1, seed: int = 0
) -> Sentences:
    """Generate a held-out set with ``per_gap`` sentences at every gap 1 ... ``seq_len - 1``.

    Args:
        per_gap: Sentences per gap.
        seq_len: Tokens per sentence.
        distractor_rate: As in :func:`make_sentences`.
        seed: Seed of the generator (use one the training data does not use).

    Returns:
        The :class:`Sentences`, sorted by gap.

    Used in: "I grew up in France … I speak fluent French: agreement across a gap".
    """
    per_gap = check_int("per_gap", per_gap)
    gaps = np.repeat(np.arange(1, check_int("seq_len", seq_len, minimum=2)), per_gap)
    return make_sentences(gaps.size, seq_len, gaps=gaps, distractor_rate=distractor_rate, seed=seed)


def decode(sentences: Sentences, i: int) -> str:
    """Return sentence ``i`` as words, padding dropped, with its agreeing word after "→".

    Args:
        sentences: A batch from :func:`make_sentences`.
        i: Which sentence.

    Returns:
        E.g. ``"Spain the dog Italy walked fluent → Spanish"``.

    Used in: "I grew up in France … I speak fluent French: agreement across a gap".
    """
    words = [VOCABULARY[t] for t in sentences.x[i] if t != PAD]
    return " ".join(words) + " → " + LANGUAGES[int(sentences.y[i])]
