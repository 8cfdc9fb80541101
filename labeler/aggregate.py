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
"""

from __future__ import annotations

import warnings
from collections import Counter, defaultdict

import numpy as np
import pandas as pd

from labeler.schema import UNSURE, Schema
from labeler.text import quoted

METHODS = ("majority", "dawid_skene")


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


def aggregate(frame: pd.DataFrame, schema: Schema, method: str = "majority", item_ids=None) -> pd.DataFrame:
    if method == "majority":
        return majority_vote(frame, schema, item_ids)
    if method == "dawid_skene":
        return dawid_skene(frame, schema, item_ids)
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
