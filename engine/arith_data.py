"""Verbal arithmetic sign: the classification task of write-up §3 ("Fine-tuning pretrained LMs").

An expression ``"<a> <op> <b>"`` with numbers written as English words (zero .. ninety-nine
by default) and ``op`` in {plus, minus} is labelled by the sign of its value::

    label(a, op, b) = sign(a + b)  if op == "plus"
                      sign(a - b)  if op == "minus"
    sign -> class id:  negative = 0, zero = 1, positive = 2

e.g. "seven minus nine" -> negative, "four minus four" -> zero, "two plus six" -> positive.

Splits (deterministic for a given ``seed``): every distinct expression of a class is put in
exactly one of train / validation / test (a seeded permutation of the class's expressions
cut by ``fractions``), so the test set holds only expressions never seen in training. The
zero class is small (a minus a, and zero plus zero: 101 expressions for numbers 0..99), so
it gets its own cut (``zero_fractions``) and training samples it with repetition.
Training examples are drawn class-balanced (1/3 each); validation and test examples are
distinct expressions, class-balanced up to the size of each class's held-out pool.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

LABELS: tuple[str, str, str] = ("negative", "zero", "positive")
OPERATORS: tuple[str, str] = ("plus", "minus")

_UNITS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def number_to_words(n: int) -> str:
    """English words for 0 <= n <= 99 ("seven", "forty", "seventy-seven")."""
    if not 0 <= n <= 99:
        raise ValueError(f"number_to_words handles 0..99, got {n}")
    if n < 20:
        return _UNITS[n]
    tens, unit = divmod(n, 10)
    return _TENS[tens] if unit == 0 else f"{_TENS[tens]}-{_UNITS[unit]}"


def sign_label(a: int, op: str, b: int) -> int:
    """Class id of the sign of ``a op b``: 0 negative, 1 zero, 2 positive."""
    value = a + b if op == "plus" else a - b
    return int(np.sign(value)) + 1


def expression_text(a: int, op: str, b: int) -> str:
    return f"{number_to_words(a)} {op} {number_to_words(b)}"


@dataclass
class ArithSplits:
    """Texts and integer labels (0 negative, 1 zero, 2 positive) of each split."""

    train_texts: list[str]
    train_labels: list[int]
    val_texts: list[str]
    val_labels: list[int]
    test_texts: list[str]
    test_labels: list[int]
    seed: int
    max_number: int
    n_unique_train: int = 0
    class_pool_sizes: dict = field(default_factory=dict)

    def subset(self, n_train: int, n_val: int | None = None, n_test: int | None = None) -> ArithSplits:
        """The first examples of each split (they are already shuffled): for quick tests."""
        n_val = len(self.val_texts) if n_val is None else n_val
        n_test = len(self.test_texts) if n_test is None else n_test
        return ArithSplits(
            self.train_texts[:n_train],
            self.train_labels[:n_train],
            self.val_texts[:n_val],
            self.val_labels[:n_val],
            self.test_texts[:n_test],
            self.test_labels[:n_test],
            self.seed,
            self.max_number,
            len(set(self.train_texts[:n_train])),
            dict(self.class_pool_sizes),
        )


def all_expressions(max_number: int = 99) -> list[tuple[str, int]]:
    """Every distinct (text, label) for numbers 0..max_number and both operators."""
    return [
        (expression_text(a, op, b), sign_label(a, op, b))
        for a in range(max_number + 1)
        for op in OPERATORS
        for b in range(max_number + 1)
    ]


def _cut(items: list, fractions: tuple[float, float, float]) -> tuple[list, list, list]:
    n = len(items)
    n_train = int(round(fractions[0] * n))
    n_val = int(round(fractions[1] * n))
    return items[:n_train], items[n_train : n_train + n_val], items[n_train + n_val :]


def make_splits(
    n_train: int = 4000,
    n_val: int = 600,
    n_test: int = 600,
    seed: int = 0,
    max_number: int = 99,
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
    zero_fractions: tuple[float, float, float] = (0.5, 0.25, 0.25),
) -> ArithSplits:
    """Deterministic train / validation / test splits of the verbal-arithmetic task.

    Parameters
    ----------
    n_train, n_val, n_test : requested number of examples per split. Train is exactly
        ``n_train`` (class-balanced, with repetition where a class's pool is small); val and
        test are at most these sizes (distinct expressions, class-balanced, capped by pool).
    seed : the permutation seed; the same seed always yields the same splits.
    max_number : largest operand (<= 99).
    fractions / zero_fractions : how each class's distinct expressions are cut into
        train / val / test (zero_fractions for the small zero class).
    """
    if not 1 <= max_number <= 99:
        raise ValueError("max_number must lie in 1..99")
    rng = np.random.default_rng(seed)
    by_class: list[list[str]] = [[], [], []]
    for text, label in all_expressions(max_number):
        by_class[label].append(text)

    pools = {"train": [], "val": [], "test": []}
    for label, texts in enumerate(by_class):
        order = rng.permutation(len(texts))
        shuffled = [texts[i] for i in order]
        cut = _cut(shuffled, zero_fractions if label == 1 else fractions)
        for name, part in zip(("train", "val", "test"), cut):
            pools[name].append(part)

    def draw(name: str, n: int, repeat: bool) -> tuple[list[str], list[int]]:
        texts: list[str] = []
        labels: list[int] = []
        per_class = [n // 3 + (1 if c < n % 3 else 0) for c in range(3)]
        for label in range(3):
            pool = pools[name][label]
            k = per_class[label]
            if not pool:
                continue
            if repeat:
                idx = np.concatenate([rng.permutation(len(pool)) for _ in range(-(-k // len(pool)))])[:k]
            else:
                idx = rng.permutation(len(pool))[: min(k, len(pool))]
            texts += [pool[i] for i in idx]
            labels += [label] * len(idx)
        order = rng.permutation(len(texts))
        return [texts[i] for i in order], [labels[i] for i in order]

    tr_x, tr_y = draw("train", n_train, repeat=True)
    va_x, va_y = draw("val", n_val, repeat=False)
    te_x, te_y = draw("test", n_test, repeat=False)
    sizes = {LABELS[c]: {s: len(pools[s][c]) for s in pools} for c in range(3)}
    return ArithSplits(tr_x, tr_y, va_x, va_y, te_x, te_y, seed, max_number, len(set(tr_x)), sizes)


# ---------------------------------------------------------------------------
# What the task covers: reading a typed sentence (issue 15)
# ---------------------------------------------------------------------------
_WORD_VALUE: dict[str, int] = {number_to_words(n): n for n in range(100)}
_OPERATOR_SYMBOLS = {"+": "plus", "-": "minus", "\u2212": "minus", "*": "times", "x": "times", "\u00d7": "times",
                     "/": "divided by", "\u00f7": "divided by", "=": "equals"}
_OTHER_OPERATOR_WORDS = {"times", "multiplied", "divided", "over", "mod", "modulo", "power", "squared", "add",
                         "added", "subtract", "subtracted", "less", "and", "equals", "is"}


def vocabulary(max_number: int = 99) -> set[str]:
    """Every word the training sentences contain: number words 0..max_number (hyphenated
    compounds as one word, as typed), their parts, and the operators "plus" and "minus"."""
    words = {number_to_words(n) for n in range(max_number + 1)} | set(OPERATORS)
    words |= {part for w in list(words) for part in w.split("-")}
    return words


@dataclass
class ParsedExpression:
    """A sentence of the trained form ``"<a> <op> <b>"``: operands, operator, true value and label."""

    a: int
    op: str
    b: int

    @property
    def value(self) -> int:
        return self.a + self.b if self.op == "plus" else self.a - self.b

    @property
    def label(self) -> str:
        return LABELS[sign_label(self.a, self.op, self.b)]

    @property
    def text(self) -> str:
        return expression_text(self.a, self.op, self.b)


def _tokens(text: str) -> list[str]:
    import re

    return re.findall(r"[A-Za-z]+(?:-[A-Za-z]+)*|\d+(?:[.,]\d+)?|[^\sA-Za-z\d]", text)


def parse_expression(text: str, max_number: int = 99) -> ParsedExpression | None:
    """The expression if ``text`` is exactly of the trained form (case and spacing ignored), else None."""
    toks = [t.lower() for t in _tokens(text or "")]
    if len(toks) != 3 or toks[1] not in OPERATORS:
        return None
    a, b = _WORD_VALUE.get(toks[0]), _WORD_VALUE.get(toks[2])
    if a is None or b is None or a > max_number or b > max_number:
        return None
    return ParsedExpression(a, toks[1], b)


def input_problems(text: str, max_number: int = 99) -> list[str]:
    """Why ``text`` lies outside what the classifier learned (empty list: it has the trained form).

    The training sentences are exactly "<number word 0..99> plus|minus <number word 0..99>".
    Reported, in plain words: digits, operator symbols and other operators, words never seen in
    training, numbers above the range, and a sentence not of the form "<a> <op> <b>".
    """
    if parse_expression(text, max_number) is not None:
        return []
    toks = _tokens(text or "")
    problems: list[str] = []
    digits = [t for t in toks if t[0].isdigit()]
    if digits:
        problems.append(f"it contains digits ({', '.join(digits[:4])}); training used number words only "
                        "(\"seven\", \"forty-two\")")
    symbols = sorted({t for t in toks if t in _OPERATOR_SYMBOLS})
    if symbols:
        problems.append(f"it contains the symbol(s) {' '.join(symbols)}; training wrote the operators as the words "
                        "\"plus\" and \"minus\"")
    lower = [t.lower() for t in toks if t[0].isalpha()]
    ops = sorted({w for w in lower if w in _OTHER_OPERATOR_WORDS})
    if ops:
        problems.append(f"it uses {', '.join(repr(w) for w in ops)}; the only operators trained are \"plus\" and "
                        "\"minus\"")
    vocab = vocabulary(max_number)
    big = {"hundred", "thousand", "million", "billion"}
    if any(w in big for w in lower):
        problems.append(f"it has numbers above {max_number}; training used {number_to_words(0)} to "
                        f"{number_to_words(max_number)}")
    unknown = [w for w in dict.fromkeys(lower) if w not in vocab and w not in ops and w not in big]
    if unknown:
        shown = ", ".join(repr(w) for w in unknown[:6]) + (" ..." if len(unknown) > 6 else "")
        problems.append(f"the model never read the word(s) {shown} in training")
    other = [t for t in toks if not (t[0].isalnum() or t in _OPERATOR_SYMBOLS)]
    if other and not problems:
        problems.append(f"it contains {' '.join(sorted(set(other))[:6])}, which training sentences never do")
    if not problems:
        problems.append("it is not of the trained form \"<number> plus|minus <number>\" (exactly three words)")
    return problems
