"""The store's row schema, and the one-off migration of older rows to it.

Schema 1 (until 2026-11-26) had two kinds of key: the report's Models A/B/C (``model``,
``method``, ``backbone``, ``input_size``, ``epochs`` ...) and the recipes of the chapters
beyond the report (``kind: recipe``, a recipe object, ``steps`` ...). Schema 2 has one: (data,
M, seed, recipe, budget), where the budget's policy says whether it counts epochs over the
model's own training set or optimizer steps. Migration rewrites keys only: every number of a
row stays as it was trained. Since 2026-11-26 a row also keeps at most about a hundred
per-epoch records besides its tested epochs (:func:`thin_history`); longer histories are
thinned by the same migration.
"""
from __future__ import annotations

import math

SCHEMA = 2  # see semisup_utils.study.schema

# recipe names that changed when Models A, B and C became recipes
RENAMED = {"B-report": "B", "C-report": "C"}
_BUDGET_DEFAULTS = {"precision": "auto", "schedule": "constant", "label_smoothing": 0.0}
# the teachers of schema 1 rows that read no features (their key's views are []): frozen as
# schema 1 wrote them, for the migration alone (today's teachers say it themselves,
# teachers.Teacher.recipe_views)
_NO_VIEWS = ("none", "truth", "fixmatch", "cnn")


# a stored run keeps at most this many per-epoch records (plus its tested ones): a step budget
# over a few hundred images is thousands of short epochs, which made one row megabytes
HISTORY_LIMIT = 100


def thin_history(history: list[dict], limit: int = HISTORY_LIMIT) -> list[dict]:
    """Every tested epoch, the last, and every k-th epoch (about ``limit`` of them); histories
    of at most ``limit`` epochs unchanged, and thinning twice is thinning once. Each record
    carries its epoch, step and cumulative seconds, so the curve and the cost read the same."""
    if not isinstance(history, list) or not all(isinstance(h, dict) and "epoch" in h
                                                for h in history):
        return history  # not a training history (rows of other tools)
    if not history or history[-1]["epoch"] <= limit:
        return history
    last = history[-1]["epoch"]
    stride = math.ceil(last / limit)
    return [h for h in history
            if "test_acc" in h or h["epoch"] % stride == 0 or h["epoch"] == last]


def needs_migration(row: dict) -> bool:
    """An older schema, or a history longer than a stored row now keeps."""
    history = row.get("history") or []
    return schema_of(row) != SCHEMA or len(thin_history(history)) < len(history)


def schema_of(row: dict) -> int:
    """The row's schema: written in its key since schema 2; a key without one is schema 1 when
    it has schema 1's layout (Models A/B/C, or a recipe), else it is left as it is."""
    key = row["key"]
    if "schema" in key:
        return int(key["schema"])
    old = key.get("kind") == "recipe" or {"model", "epochs", "method"} <= key.keys()
    return 1 if old else SCHEMA


def _budget(policy: str, amount, key: dict) -> dict:
    return {"policy": policy, "amount": int(amount), "batch_size": int(key["batch_size"]),
            "lr": float(key["lr"]), "arch": key["arch"],
            **{k: (float(key.get(k, v)) if isinstance(v, float) else key.get(k, v))
               for k, v in _BUDGET_DEFAULTS.items()}}


def _recipe(teacher: str, views, weight=1.0, with_model_a=False, selection="all",
            threshold=0.0, soft=False, confidence_weight=False, rounds=1) -> dict:
    return {"teacher": teacher, "views": [] if teacher in _NO_VIEWS else [list(v) for v in views],
            "with_model_a": bool(with_model_a), "selection": selection,
            "threshold": float(threshold), "soft": bool(soft), "weight": float(weight),
            "confidence_weight": bool(confidence_weight), "rounds": int(rounds)}


def migrate_row(row: dict) -> dict:
    """The row under the current schema, its history thinned (:func:`thin_history`); rows
    already current are returned unchanged."""
    if row.get("history"):
        row = {**row, "history": thin_history(row["history"])}
    if schema_of(row) == SCHEMA:
        return row
    old = row["key"]
    common = {"schema": SCHEMA, "data": old["data"], "n_train": int(old["n_train"]),
              "m": int(old["m"]), "seed": int(old["seed"])}
    extra = {}
    if old.get("kind") == "recipe":
        r = old["recipe"]
        views = [[r["backbone"], r["input_size"]], *r.get("extra_views", [])]
        recipe = _recipe(r["teacher"], views, r["weight"], r["with_model_a"], r["selection"],
                         r["threshold"], r["soft"], r["confidence_weight"], r["rounds"])
        budget = _budget("steps", old["steps"], old)
        extra = {"name": RENAMED.get(row.get("name"), row.get("name"))}
    else:
        model = old["model"]
        recipe = {"A": lambda: _recipe("none", []),
                  "B": lambda: _recipe(old["method"], [[old["backbone"], old["input_size"]]],
                                       old["weight"]),
                  "C": lambda: _recipe("cnn", [], old["weight"])}[model]()
        budget = _budget("epochs", old["epochs"], old)
        n_images = old["m"] if model == "A" else old["n_train"]
        extra = {"name": model,
                 "total_steps": int(old["epochs"]) * math.ceil(n_images / old["batch_size"])}
    key = {**common, "recipe": recipe, "budget": budget}
    return {**{k: v for k, v in row.items() if k != "key"}, **extra, "key": key,
            "migrated_from_schema": schema_of(row)}


# ----------------------------------------------------------------------------- validation
class RowError(ValueError):
    """A stored line this code cannot use; the message says why (the store adds file:line)."""


# accuracies and calibration errors: a number in [0, 1], or null where undefined (Model A's
# label accuracy: it infers no labels); a test accuracy is never null: it is what a run is for
FRACTIONS = ("test_acc", "label_acc", "kept_label_acc", "ece", "test_ece", "val_acc", "val_ece")
NEVER_NULL = ("test_acc",)
# seconds and counts: a number >= 0, or null where unknown (embedding seconds not cached)
AMOUNTS = ("wall_s", "seconds", "embed_s", "total_steps", "n_inferred", "n_unknown")
# what each kind of row must hold: a trained run, a label-inference run
REQUIRED = {"run": ("name", "test_acc"), "labels": ("label_acc", "ece")}
KEY_INTEGERS = ("n_train", "m", "seed")


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) \
        and math.isfinite(value)


def _integer(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def row_kind(row: dict) -> str:
    """``run`` (a key with a recipe and a budget), ``labels`` (a label-inference run), or
    ``other`` (rows of other tools and of the tests: only the fields they hold are checked)."""
    key = row["key"]
    if key.get("kind") == "labels":
        return "labels"
    if isinstance(key.get("recipe"), dict) and isinstance(key.get("budget"), dict):
        return "run"
    return "other"


def _schema_problem(key: dict) -> str | None:
    if "schema" not in key:
        return None
    schema = key["schema"]
    if not _integer(schema) or schema < 1:
        return f"its key's schema is {schema!r}, not a schema number (1 or {SCHEMA})"
    if schema > SCHEMA:
        return (f"schema {schema}, newer than this code reads ({SCHEMA}): update semisup "
                "(git pull) to read it")
    return None


def _history_problem(history) -> str | None:
    if history is None:
        return None
    if not isinstance(history, list) or not all(isinstance(h, dict) for h in history):
        return "its history is not a list of per-epoch records"
    if not all(_integer(h["epoch"]) for h in history if "epoch" in h):
        return "its history has an epoch that is not an integer"
    return None


def _key_problem(key: dict, kind: str) -> str | None:
    for name in KEY_INTEGERS:
        if not _integer(key.get(name)) or key[name] < 0:
            return f"its key's {name} is {key.get(name)!r}, not a count"
    if not isinstance(key.get("data"), str):
        return "its key has no data fingerprint"
    if kind == "run":
        if not isinstance(key["recipe"].get("teacher"), str):
            return "its recipe names no teacher"
        budget = key["budget"]
        if budget.get("policy") not in ("epochs", "steps") or not _integer(budget.get("amount")):
            return "its budget is not a policy (epochs or steps) with an integer amount"
    if kind == "labels" and (not isinstance(key.get("method"), str)
                             or not isinstance(key.get("views"), list)):
        return "its key names no method and views"
    return None


def _result_problem(row: dict, kind: str) -> str | None:
    required = REQUIRED.get(kind, ())
    for name in required:
        if name not in row:
            return f"no {name}"
    if kind == "run" and not isinstance(row["name"], str):
        return f"name {row['name']!r} is not a recipe's name"
    for name in FRACTIONS:
        if name not in row or (row[name] is None and name not in NEVER_NULL
                               and name not in required):
            continue
        if not _number(row[name]) or not 0 <= row[name] <= 1:
            return f"{name} is {row[name]!r}, not a number in [0, 1]"
    for name in AMOUNTS:
        if name in row and row[name] is not None and (not _number(row[name]) or row[name] < 0):
            return f"{name} is {row[name]!r}, not a number >= 0"
    return None


def checked_row(row) -> tuple[dict, bool]:
    """``(row, migrated)``: the row under the current schema (:func:`migrate_row`) when this
    code can use it, else :class:`RowError` saying why: not a row, a schema newer than
    :data:`SCHEMA` or not a number, a history that is not a list of records, a schema-1 row
    that cannot be migrated, a key without its fields, a result missing, not a number, or out
    of range (a row with ``test_acc`` null counts as missing, so its run is computed again)."""
    if not isinstance(row, dict) or not isinstance(row.get("key"), dict):
        raise RowError("JSON but not a run's row (no 'key' object)")
    problem = _schema_problem(row["key"]) or _history_problem(row.get("history"))
    if problem:
        raise RowError(problem)
    migrated = needs_migration(row)
    if migrated:
        try:
            row = migrate_row(row)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise RowError(f"a schema 1 row that cannot be migrated "
                           f"({type(error).__name__}: {error})") from None
    kind = row_kind(row)
    problem = (_key_problem(row["key"], kind) if kind != "other" else None) \
        or _result_problem(row, kind)
    if problem:
        raise RowError(problem)
    return row, migrated
