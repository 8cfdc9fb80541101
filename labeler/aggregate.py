"""From many annotators' labels to one label per item, and how much the annotators agree.

Input everywhere is the store's wide label frame (`LabelStore.labels_frame`): one row per label
with `item_id`, `annotator` and one column per attribute holding an option name or "not_sure".
"Not sure" answers carry no vote: they are left out of aggregation and agreement.

* `majority_vote`: the most frequent option; a tie gives None (no clear answer).
* `dawid_skene`: crowd-kit's Dawid-Skene EM, which learns a confusion matrix per annotator and
  so discounts careless annotators.
* `krippendorff_alpha`: chance-corrected agreement per attribute (nominal for binary and
  categorical, ordinal for ordinal attributes); 1 = perfect, 0 = chance.
* `annotator_agreement`: per annotator, the share of their answers that match the majority of the
  *other* annotators on the same item (leave-one-out, so nobody agrees with themselves).
* `gold_accuracy`: per annotator, the share of their answers on gold faces (known answers set by
  the admin) that are right; `gold_weighted_vote` weighs each annotator's vote by the log-odds of
  that accuracy (so a careless annotator counts less), and gold faces keep their known answers.
"""

from __future__ import annotations

import warnings
from collections import Counter, defaultdict

import numpy as np
import pandas as pd

from labeler.schema import UNSURE, Schema
from labeler.text import quoted

METHODS = ("majority", "dawid_skene", "gold_weighted")
GOLD_PRIOR = (1.0, 1.0)  # (right, wrong) pseudo-answers: an annotator with no gold answers yet counts at 50 %


def long_labels(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """Columns item_id, annotator, attribute, value; one row per answered (not "not sure") attribute."""
    if frame.empty:
        return pd.DataFrame(columns=["item_id", "annotator", "attribute", "value"])
    long = frame.melt(id_vars=["item_id", "annotator"], value_vars=schema.names,
                      var_name="attribute", value_name="value")
    long = long[long["value"].notna() & (long["value"] != UNSURE)]
    return long.reset_index(drop=True)


def _empty_result(item_ids, schema: Schema) -> pd.DataFrame:
    out = pd.DataFrame(index=pd.Index(item_ids, name="item_id"), columns=schema.names, dtype=object)
    return out.astype(object).where(pd.notna(out), None)


def majority_vote(frame: pd.DataFrame, schema: Schema, item_ids=None) -> pd.DataFrame:
    """Index item_id, one column per attribute: the most frequent option, or None (tie / no answer)."""
    item_ids = sorted(frame["item_id"].unique()) if item_ids is None else list(item_ids)
    out = _empty_result(item_ids, schema)
    long = long_labels(frame, schema)
    for (item, attr), values in long.groupby(["item_id", "attribute"])["value"]:
        if item not in out.index:
            continue
        counts = Counter(values).most_common()
        if len(counts) == 1 or counts[0][1] > counts[1][1]:
            out.at[item, attr] = counts[0][0]
    return out


def dawid_skene(frame: pd.DataFrame, schema: Schema, item_ids=None, n_iter: int = 100) -> pd.DataFrame:
    """Index item_id, one column per attribute: the Dawid-Skene estimate (crowd-kit), or None."""
    from crowdkit.aggregation import DawidSkene  # imports transformers/nltk: only when asked for

    item_ids = sorted(frame["item_id"].unique()) if item_ids is None else list(item_ids)
    out = _empty_result(item_ids, schema)
    long = long_labels(frame, schema)
    for attr, part in long.groupby("attribute"):
        data = pd.DataFrame({"task": part["item_id"].to_numpy(), "worker": part["annotator"].to_numpy(),
                             "label": part["value"].astype(object).to_numpy()})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            estimate = DawidSkene(n_iter=n_iter).fit_predict(data)
        for item, value in estimate.items():
            if item in out.index and isinstance(value, str):
                out.at[item, attr] = value
    return out


def gold_accuracy(frame: pd.DataFrame, schema: Schema, gold: dict[int, dict[str, str]]) -> pd.DataFrame:
    """Per annotator: gold_answers (attribute answers given on gold faces, "not sure" left out) and
    gold_accuracy (the share that match the known answer; nan without any)."""
    right: Counter = Counter()
    given: Counter = Counter()
    long = long_labels(frame[frame["item_id"].isin(list(gold))] if len(frame) else frame, schema)
    for item, attr, value, who in zip(long["item_id"], long["attribute"], long["value"], long["annotator"]):
        known = gold[item].get(attr)
        if known is not None:
            given[who] += 1
            right[who] += value == known
    names = sorted(set(frame["annotator"])) if len(frame) else []
    rows = [{"annotator": who, "gold_answers": given[who],
             "gold_accuracy": right[who] / given[who] if given[who] else float("nan")} for who in names]
    return pd.DataFrame(rows, columns=["annotator", "gold_answers", "gold_accuracy"])


def gold_weights(frame: pd.DataFrame, schema: Schema, gold: dict[int, dict[str, str]]) -> dict[str, float]:
    """Each annotator's smoothed gold accuracy (with GOLD_PRIOR), the base of their vote's weight."""
    acc = gold_accuracy(frame, schema, gold)
    a, b = GOLD_PRIOR
    return {r.annotator: (r.gold_accuracy * r.gold_answers + a) / (r.gold_answers + a + b)
            if r.gold_answers else a / (a + b) for r in acc.itertuples()}


def gold_weighted_vote(frame: pd.DataFrame, schema: Schema, gold: dict[int, dict[str, str]] | None,
                       item_ids=None) -> pd.DataFrame:
    """Like `majority_vote`, but a vote weighs log((C - 1) p / (1 - p)) for an annotator right with
    probability p on gold (C options; the optimal weight under uniform errors, at least 0.01), and
    gold faces take their known answers."""
    gold = gold or {}
    item_ids = sorted(frame["item_id"].unique()) if item_ids is None else list(item_ids)
    out = _empty_result(item_ids, schema)
    accuracy = gold_weights(frame, schema, gold)
    options = {a.name: len(a.options) for a in schema.attributes}
    long = long_labels(frame, schema)
    scores: dict[tuple, Counter] = defaultdict(Counter)
    for item, attr, value, who in zip(long["item_id"], long["attribute"], long["value"], long["annotator"]):
        p = min(max(accuracy.get(who, 0.5), 1e-3), 1 - 1e-3)
        scores[(item, attr)][value] += max(0.01, float(np.log((options[attr] - 1) * p / (1 - p))))
    for (item, attr), votes in scores.items():
        if item not in out.index:
            continue
        ranked = votes.most_common()
        if len(ranked) == 1 or ranked[0][1] > ranked[1][1] + 1e-9:
            out.at[item, attr] = ranked[0][0]
    for item, answers in gold.items():
        if item in out.index:
            for attr, value in answers.items():
                out.at[item, attr] = value
    return out


def aggregate(frame: pd.DataFrame, schema: Schema, method: str = "majority", item_ids=None,
              gold: dict[int, dict[str, str]] | None = None) -> pd.DataFrame:
    """One label per item by `method`; "gold_weighted" uses `gold` ({item_id: known answers})."""
    if method == "majority":
        return majority_vote(frame, schema, item_ids)
    if method == "dawid_skene":
        return dawid_skene(frame, schema, item_ids)
    if method == "gold_weighted":
        return gold_weighted_vote(frame, schema, gold, item_ids)
    raise ValueError(f"aggregation must be one of {', '.join(METHODS)}, got {quoted(method)}")


def krippendorff_alpha(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """Per attribute: alpha, level (nominal/ordinal), items with >= 2 answers, answers."""
    import krippendorff

    long = long_labels(frame, schema)
    rows = []
    for a in schema.attributes:
        part = long[long["attribute"] == a.name]
        level = "ordinal" if a.kind == "ordinal" else "nominal"
        per_item = part.groupby("item_id").size()
        pairable = int((per_item >= 2).sum())
        alpha = float("nan")
        if pairable and part["value"].nunique() > 1:
            matrix = part.assign(code=part["value"].map({o: i for i, o in enumerate(a.options)}))
            matrix = matrix.pivot_table(index="annotator", columns="item_id", values="code", aggfunc="first")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                alpha = float(krippendorff.alpha(reliability_data=matrix.to_numpy(dtype=float),
                                                 level_of_measurement=level,
                                                 value_domain=list(range(len(a.options)))))
        elif pairable:
            alpha = 1.0  # everyone gave the same single answer
        rows.append({"attribute": a.name, "alpha": alpha, "level": level, "items": pairable,
                     "answers": len(part)})
    return pd.DataFrame(rows, columns=["attribute", "alpha", "level", "items", "answers"])


def annotator_agreement(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """Per annotator: labels, answers compared, and the share matching the others' majority."""
    long = long_labels(frame, schema)
    votes: dict[tuple, Counter] = defaultdict(Counter)
    for item, attr, value in zip(long["item_id"], long["attribute"], long["value"]):
        votes[(item, attr)][value] += 1
    agree: Counter = Counter()
    compared: Counter = Counter()
    for item, attr, value, who in zip(long["item_id"], long["attribute"], long["value"], long["annotator"]):
        others = votes[(item, attr)].copy()
        others[value] -= 1
        ranked = [(v, c) for v, c in others.most_common() if c > 0]
        if not ranked or (len(ranked) > 1 and ranked[0][1] == ranked[1][1]):
            continue  # nobody else answered, or the others are split
        compared[who] += 1
        agree[who] += ranked[0][0] == value
    n_labels = frame.groupby("annotator").size() if not frame.empty else pd.Series(dtype=int)
    rows = [{"annotator": who, "labels": int(n), "compared": int(compared[who]),
             "agreement": agree[who] / compared[who] if compared[who] else float("nan")}
            for who, n in n_labels.items()]
    out = pd.DataFrame(rows, columns=["annotator", "labels", "compared", "agreement"])
    return out.sort_values("labels", ascending=False, ignore_index=True)


def class_balance(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """Per attribute and option (including not sure): how many answers, and their share."""
    rows = []
    for a in schema.attributes:
        counts = frame[a.name].value_counts() if not frame.empty else pd.Series(dtype=int)
        total = int(counts.sum())
        for option in a.choices:
            c = int(counts.get(option, 0))
            rows.append({"attribute": a.name, "option": option, "count": c,
                         "share": c / total if total else float("nan")})
    return pd.DataFrame(rows, columns=["attribute", "option", "count", "share"])


def mean_alpha(frame: pd.DataFrame, schema: Schema) -> float:
    """Mean of the per-attribute alphas that can be computed (nan when none can yet)."""
    alphas = krippendorff_alpha(frame, schema)["alpha"].dropna()
    return float(np.mean(alphas)) if len(alphas) else float("nan")
