"""Checks on class labels that would otherwise give silent wrong numbers: which score column is which class, true
and predicted labels of different kinds, and labels that differ only by spaces or case. Pure functions of the
labels and the config's settings, shared by the in-memory and the aggregated (DuckDB, Spark) paths."""
from __future__ import annotations

from typing import Optional, Sequence

from postreport.errors import UserError


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def _label_matches(column: str, label) -> bool:
    """Does a score column's name name this class? Its whole name, or the label at its start or end, set off by a
    separator or by a change between letters and digits: `p_cat`, `score-cat`, `cat_prob`, `p0` name `cat` / 0;
    `p_bobcat` does not name `cat`, nor `p10` the label 0."""
    text = str(label)
    if column == text:
        return True
    if not text or len(column) <= len(text):
        return False
    after = column[len(text)] if column.startswith(text) else None
    before = column[-len(text) - 1] if column.endswith(text) else None
    return (after is not None and _apart(after, text[-1])) or (before is not None and _apart(before, text[0]))


def named_class(column: str, labels: list):
    """The one class a score column's name names, else None."""
    named = [label for label in labels if _label_matches(column, label)]
    return named[0] if len(named) == 1 else None


def _apart(neighbour: str, edge: str) -> bool:
    """The label's edge character and the name's next one are set apart: a separator, or digit beside letter."""
    return not neighbour.isalnum() or neighbour.isdigit() != edge.isdigit()


def _same(a, b) -> bool:
    return a == b or str(a) == str(b)


def score_columns_by_class(scores: Sequence[str], score_labels: Optional[Sequence], labels: list, task: str,
                           positive) -> tuple:
    """(the score columns in the order of `labels`, a note saying which column is which class). Multiclass: by
    data.score_labels when given, else by name when every column names exactly one class; neither: an error
    saying how to settle it, never a guess by position. Binary: the one column is the positive class's score; a
    column named after the other class is an error."""
    scores = list(scores)
    if task == "binary":
        (column,) = scores
        negative = next(label for label in labels if not _same(label, positive))
        if score_labels is not None:
            stated = list(score_labels)
            if len(stated) != 1 or not _same(stated[0], positive):
                raise UserError(f"data.score_labels={stated} but the positive class is {positive!r}: a binary task's "
                                f"score column ({column!r}) holds the positive class's score; set "
                                f"data.positive_label={stated[0]!r} if {column!r} is that class's score")
        elif _label_matches(column, negative) and not _label_matches(column, positive):
            raise UserError(f"data.scores=[{column!r}] looks like the score of class {negative!r}, but the positive "
                            f"class is {positive!r} and a binary task's score column must hold its score: set "
                            f"data.positive_label={negative!r}, or name the positive class's score column")
        return scores, f"The score column {column!r} is the probability of the positive class {positive!r}."
    if score_labels is not None:
        stated = [_plain(v) for v in score_labels]
        if len(stated) != len(scores):
            raise UserError(f"data.score_labels lists {len(stated)} classes for {len(scores)} data.scores columns; "
                            "give the class of each score column, in the same order")
        order = []
        for value in stated:
            match = [i for i, label in enumerate(labels) if _same(label, value)]
            if not match:
                raise UserError(f"data.score_labels names {value!r}, which is not a class of the target; its "
                                f"classes are {_show(labels)}")
            order.append(match[0])
        if sorted(order) != list(range(len(labels))):
            twice = sorted({str(stated[i]) for i, k in enumerate(order) if order.count(k) > 1})
            raise UserError(f"data.score_labels must name each class once; it repeats {twice} "
                            f"(classes: {_show(labels)})")
        how = "as data.score_labels states"
    else:
        order = []
        for column in scores:
            match = [i for i, label in enumerate(labels) if _label_matches(column, label)]
            order.append(match[0] if len(match) == 1 else None)
        if None in order or len(set(order)) != len(order):
            unclear = [c for c, k in zip(scores, order) if k is None or order.count(k) > 1]
            raise UserError(f"cannot tell which class each score column holds: {_show(unclear)} do not each name "
                            f"exactly one class of {_show(labels)} (as p_cat or cat_prob name 'cat'). Give the class "
                            "of each column in the order of data.scores: data.score_labels=[...]")
        how = "matched by name"
    by_class = [None] * len(labels)
    for column, k in zip(scores, order):
        by_class[k] = column
    pairs = [f"{c!r} is {labels[k]!r}" for c, k in zip(scores, order)]
    if len(pairs) > SHOWN_PAIRS:  # 500 classes: three pages of pairs
        pairs = pairs[:SHOWN_PAIRS] + [f"and {len(pairs) - SHOWN_PAIRS:,} more, " + (
            "each column naming its class" if how == "matched by name" else "in data.score_labels' order")]
    return by_class, f"Score columns ({how}): {', '.join(pairs)}."


SHOWN_PAIRS = 10


def near_duplicate_labels(values: Sequence, column: str, strip: bool) -> tuple:
    """Text labels that differ only by surrounding spaces or case ("yes", "yes ", "Yes"): an error naming them, or
    with data.strip_labels=true a mapping of each spelling to the most frequent one (ties: the first in sorted
    order) and a note. `values`: (label, count) pairs. Returns (mapping, note), both empty when there are none."""
    groups: dict = {}
    counts: dict = {}
    for value, count in values:
        if isinstance(value, str):
            groups.setdefault(value.strip().casefold(), []).append(value)
            counts[value] = counts.get(value, 0) + count
    clashes = [sorted(set(g)) for g in groups.values() if len(set(g)) > 1]
    if not clashes:
        return {}, ""
    shown = "; ".join(" / ".join(repr(v) for v in g) for g in clashes[:5])
    if not strip:
        raise UserError(f"labels of {column!r} differ only by surrounding spaces or case: {shown}. Correct the file, "
                        "or set data.strip_labels=true to merge each group into its most frequent spelling")
    mapping = {}
    for group in clashes:
        keep = sorted(group, key=lambda v: (-counts[v], v))[0]
        mapping.update({v: keep for v in group if v != keep})
    merged = "; ".join(f"{' / '.join(repr(v) for v in g)} into {mapping.get(g[0], g[0])!r}" for g in clashes[:5])
    return mapping, (f"Labels of {column!r} that differ only by spaces or case were merged (data.strip_labels): "
                     f"{merged}.")


def check_predicted_labels(true_labels: list, predicted: list, target: str, prediction: str, task: str) -> str:
    """Predicted labels must be labels of the same kind as the true ones: none in common (yes/no against 1/0) is an
    error naming both sets; a few predicted labels that never occur among the true ones get a note (returned), but
    for a binary task, whose metrics count each prediction as the positive class or not (a third label on a negative
    row would count as right), they are an error."""
    true_set = {_key(v) for v in true_labels}
    unseen = [v for v in predicted if _key(v) not in true_set]
    if not unseen:
        return ""
    if len(unseen) == len(predicted):
        raise UserError(f"the predicted labels in {prediction!r} ({_show(predicted)}) share no value with the true "
                        f"labels in {target!r} ({_show(true_labels)}): they must be the same kind of label; map one "
                        "onto the other before the report")
    if task == "binary":
        raise UserError(f"the predicted labels in {prediction!r} include {_show(unseen)}, neither of the two true "
                        f"labels in {target!r} ({_show(true_labels)}); binary metrics need each prediction to be one "
                        "of them (such a row would count as a right negative): map them onto one before the report")
    return (f"Predicted labels in {prediction!r} that never occur in {target!r}: {_show(unseen)}; they count as "
            "wrong predictions.")


def _key(value):
    """Labels compare as values: 1, 1.0 and True are one label; '1' is another."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def listed(values, most: int = 10) -> str:
    """Up to `most` values as written in a message ('a', 'b', 3), then how many more."""
    values = list(values)
    text = ", ".join(repr(_plain(v)) for v in values[:most])
    return text + (f" and {len(values) - most} more" if len(values) > most else "")


def _show(values, most: int = 10) -> str:
    return f"[{listed(values, most)}]"

