"""Counting n-gram language models with add-alpha smoothing: the baseline a neural language
model must beat (notebook ``05-recurrent-neural-networks/03-language-models`` builds it)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from .validation import check_int, check_number


class NGramModel:
    """An n-gram model of token indices with add-alpha smoothing (d2l §9.3; Laplace for 1).

    ``P(x | c) = (n(c, x) + alpha) / (n(c) + alpha * V)``, where ``c`` is the ``n - 1`` tokens
    before ``x`` and ``n(.)`` counts in the training tokens; every row sums to 1 over the ``V``
    tokens, and a context never seen gets the uniform row.

    Args:
        tokens: the training token indices (a list of ints or a 1-D integer tensor).
        n: the order (1 for unigrams).
        vocab_size: ``V``, the number of possible tokens.
        alpha: the smoothing count added to every n-gram, > 0.

    Raises:
        ValueError: if ``n`` or ``vocab_size`` is not a positive int or ``alpha`` is not > 0.
        TypeError: if ``alpha`` is not a number.
    """

    def __init__(
        self, tokens: Sequence[int], n: int, vocab_size: int, alpha: float = 1.0
    ) -> None:
        self.n, self.vocab_size = check_int("n", n), check_int("vocab_size", vocab_size)
        self.alpha = check_number("alpha", alpha)
        if not self.alpha > 0:
            raise ValueError(f"alpha must be > 0, got {alpha!r}")
        tokens = [int(t) for t in tokens]
        grams = list(zip(*(tokens[k : len(tokens) - n + 1 + k] for k in range(n))))
        self.counts = Counter(grams)  # n(c, x)
        self.context_counts = Counter(g[:-1] for g in grams)  # n(c)

    def prob(self, context: Sequence[int], token: int) -> float:
        """P(``token`` | the last ``n - 1`` tokens of ``context``)."""
        context = tuple(int(c) for c in context[len(context) - self.n + 1 :]) if self.n > 1 else ()
        return (self.counts[context + (token,)] + self.alpha) / (
            self.context_counts[context] + self.alpha * self.vocab_size
        )  # fmt: skip

    def cross_entropy(self, tokens: Sequence[int], start: int = 4) -> float:
        """Mean of ``-log P(x_t | x_{t-n+1} .. x_{t-1})`` over ``t = start .. len(tokens) - 1``,
        in nats per token; its ``math.exp`` is the perplexity. ``start`` >= ``n - 1`` keeps the
        first tokens as context only; the default 4 scores the same targets as
        ``d2l.perplexity_on`` for every order up to 5.

        Raises:
            ValueError: if ``start`` < ``n - 1`` or leaves no token to score.
        """
        tokens = [int(t) for t in tokens]
        start = check_int("start", start, minimum=self.n - 1, maximum=len(tokens) - 1)
        total = 0.0
        for t in range(start, len(tokens)):
            total -= math.log(self.prob(tokens[t - self.n + 1 : t], tokens[t]))
        return total / (len(tokens) - start)
