"""BFCL's scoring rules for Python function calls, as in the `bfcl-eval` wheel
(`eval_checker/ast_eval/ast_checker.py`, `executable_eval/executable_checker.py`).

The wheel's checker cannot be imported on its own: `ast_checker` imports the model registry,
which imports every provider SDK (openai, anthropic, mistralai, cohere, google-genai,
vLLM handlers…), so the rules are restated here, branch for branch, for Python only.

AST rule (`parallel`, `parallel_multiple`): as many calls as the ground truth, and each
ground-truth call, in order, is matched by the first unmatched made call with the same
function whose arguments pass: no missing required argument, no argument the function or
the answer lacks, each value of the declared type (an int passes for a float) and one of
the allowed values (strings compared without case, spaces and `,./-_*^`), and every
argument the answer lists without `""` (optional) present.

Exec rule (`exec_*`): as many calls as the ground truth, and each ground-truth result, in
order, is matched by the first unmatched made call whose result matches it: `exact_match`
(equal; a tuple counts as a list), `real_time_match` (a number within 20 %), or
`structural_match` (same type; a dict with the same keys; a list of the same length).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Check", "ast_match", "exec_match", "match_calls", "result_matches"]

Call = tuple[str, Mapping[str, Any]]
"""A made call: the function's name as the dataset spells it, and its arguments."""

_PYTHON_TYPES: dict[str, type] = {
    "string": str,
    "integer": int,
    "float": float,
    "boolean": bool,
    "array": list,
    "tuple": list,
    "dict": dict,
    "any": str,
}
_NESTED = ("array", "tuple")
_STANDARDIZE = re.compile(r"[ \,\.\/\-\_\*\^]")
REAL_TIME_TOLERANCE = 0.2


@dataclass(frozen=True)
class Check:
    valid: bool
    error: str = ""


_OK = Check(True)


def match_calls(
    expected: Sequence[Any], made: Sequence[Any], matches: Callable[[Any, Any], Check]
) -> tuple[dict[int, int], list[str]]:
    """BFCL's order-free matching: each expected item, in order, takes the first unmatched
    made item that `matches` it. Returns expected index → made index, and the errors of the
    expected items left unmatched."""
    pairs: dict[int, int] = {}
    errors: list[str] = []
    for i, want in enumerate(expected):
        last = Check(False, "no call was made")
        for j, got in enumerate(made):
            if j in pairs.values():
                continue
            last = matches(want, got)
            if last.valid:
                pairs[i] = j
                break
        if i not in pairs:
            errors.append(f"ground-truth call {i + 1}: {last.error}")
    return pairs, errors


def ast_match(
    functions: Sequence[Mapping[str, Any]],
) -> Callable[[Mapping[str, Mapping[str, list[Any]]], Call], Check]:
    """`matches(answer, call)` for `match_calls`: one ground-truth entry
    (`{name: {arg: [allowed values]}}`) against one made call."""
    by_name = {f["name"]: f for f in functions}

    def matches(answer: Mapping[str, Mapping[str, list[Any]]], call: Call) -> Check:
        name, allowed = next(iter(answer.items()))
        return _simple(by_name[name], call, allowed)

    return matches


def _simple(function: Mapping[str, Any], call: Call, allowed: Mapping[str, list[Any]]) -> Check:
    name, args = call
    if name != function["name"]:
        return Check(False, f"function {function['name']!r} not called (got {name!r})")
    details = function["parameters"].get("properties") or {}
    for param in function["parameters"].get("required") or ():
        if param not in args:
            return Check(False, f"missing required parameter {param!r}")
    for param, value in args.items():
        if param not in details or param not in allowed:
            return Check(False, f"unexpected parameter {param!r}")
        declared = details[param].get("type", "any")
        expected = _PYTHON_TYPES.get(declared, str)
        nested = None
        if declared in _NESTED:
            nested = _PYTHON_TYPES.get((details[param].get("items") or {}).get("type", "any"), str)
        if declared == "tuple" and type(value) is tuple:
            value = list(value)
        if declared == "float" and type(value) is int:
            value = float(value)
        typed = _type_check(param, value, allowed[param], declared, expected, nested)
        if not typed.valid:
            return typed
        if not _is_variable(allowed[param], expected):
            if expected is dict:
                checked = _dict_check(param, value, allowed[param])
            elif expected is list and nested is dict:
                checked = _list_dict_check(param, value, allowed[param])
            elif expected is str:
                checked = _string_check(param, value, allowed[param])
            elif expected is list:
                checked = _list_check(param, value, allowed[param])
            else:
                checked = _value_check(param, value, allowed[param])
            if not checked.valid:
                return checked
            continue
        checked = _value_check(param, value, allowed[param])
        if not checked.valid:
            return checked
    for param, values in allowed.items():
        if param not in args and "" not in values:
            return Check(False, f"optional parameter {param!r} not provided and not optional")
    return _OK


def _answer_type(allowed: Sequence[Any]) -> type | None:
    for value in allowed:
        if value != "":
            return type(value)
    return None


def _is_variable(allowed: Sequence[Any], expected: type) -> bool:
    # BFCL: an answer of another type than the declared one names a variable (a string).
    answer_type = _answer_type(allowed)
    return answer_type is not None and answer_type is not expected


def _type_check(
    param: str,
    value: Any,
    allowed: Sequence[Any],
    declared: str,
    expected: type,
    nested: type | None,
) -> Check:
    if type(value) is expected:
        if nested is None:
            return _OK
        assert isinstance(value, list)
        for answer in allowed:
            if type(answer) is list and all(
                _type_check(param, item, answer, str(nested), nested, None).valid for item in value
            ):
                return _OK
            if type(answer) is not list:
                return _OK  # BFCL only checks the items against list answers
        failed = f"nested type check failed for {param!r}: {declared} of {nested.__name__}"
        return Check(False, failed)
    answer_type = _answer_type(allowed)
    if answer_type is not None and type(value) is answer_type:
        return _OK
    return Check(
        False,
        f"incorrect type for {param!r}: expected {declared}, got {type(value).__name__}",
    )


def _standardize(text: str) -> str:
    return _STANDARDIZE.sub("", text).lower().replace("'", '"')


def _string_check(param: str, value: str, allowed: Sequence[Any]) -> Check:
    if _standardize(value) in [_standardize(a) for a in allowed if type(a) is str]:
        return _OK
    return Check(False, f"invalid value for {param!r}: {value!r}, expected one of {allowed}")


def _list_check(param: str, value: list[Any], allowed: Sequence[Any]) -> Check:
    def standard(items: Sequence[Any]) -> list[Any]:
        return [_standardize(v) if type(v) is str else v for v in items]

    # As BFCL does, every answer is read as a sequence: the optional "" becomes [].
    options = [standard(list(a)) for a in allowed if isinstance(a, (list, tuple, str))]
    if standard(list(value)) in options:
        return _OK
    return Check(False, f"invalid value for {param!r}: {value!r}, expected one of {allowed}")


def _dict_check(param: str, value: Mapping[str, Any], allowed: Sequence[Any]) -> Check:
    last = Check(False, f"invalid value for {param!r}: {value!r}")
    for answer in allowed:
        if answer == "":
            continue
        last = _one_dict(value, answer)
        if last.valid:
            return _OK
    return last


def _one_dict(value: Mapping[str, Any], answer: Mapping[str, Any]) -> Check:
    for key, item in value.items():
        if key not in answer:
            return Check(False, f"unexpected dict key {key!r}")
        item = _standardize(item) if type(item) is str else item
        options = [_standardize(a) if type(a) is str else a for a in answer[key]]
        if item not in options:
            return Check(False, f"invalid value for dict key {key!r}: {item!r}")
    for key, options in answer.items():
        if key not in value and "" not in options:
            return Check(False, f"missing dict key {key!r}")
    return _OK


def _list_dict_check(param: str, value: list[Any], allowed: Sequence[Any]) -> Check:
    last = Check(False, f"invalid value for {param!r}")
    for answer in allowed:
        if len(value) != len(answer):
            last = Check(False, f"wrong number of dicts in {param!r}")
            continue
        for item, expected in zip(value, answer):
            last = _dict_check(param, item, [expected])
            if not last.valid:
                break
        else:
            return _OK
    return last


def _value_check(param: str, value: Any, allowed: Sequence[Any]) -> Check:
    if value in allowed:
        return _OK
    return Check(False, f"invalid value for {param!r}: {value!r}, expected one of {allowed}")


def exec_match(expected: tuple[Any, str], output: tuple[bool, Any]) -> Check:
    """`matches((expected result, result type), (ran ok, made result))` for `match_calls`."""
    want, kind = expected
    ok, got = output
    if not ok:
        return Check(False, f"the call failed: {got}")
    return result_matches(got, want, kind)


def result_matches(got: Any, want: Any, kind: str) -> Check:
    """BFCL's comparison of one executed call's result with the expected one."""
    if isinstance(got, tuple):
        got = list(got)
    if kind == "exact_match":
        return _OK if got == want else Check(False, f"expected {want!r}, got {got!r}")
    if kind == "real_time_match":
        numbers = (int, float)
        if type(want) in numbers and type(got) in numbers:
            low, high = want * (1 - REAL_TIME_TOLERANCE), want * (1 + REAL_TIME_TOLERANCE)
            if low <= got <= high:
                return _OK
        return Check(False, f"expected {want!r} within 20 %, got {got!r}")
    if type(got) is not type(want):
        return Check(False, f"expected a {type(want).__name__}, got {type(got).__name__}")
    if isinstance(want, dict) and set(got) != set(want):
        return Check(False, f"expected keys {sorted(want)}, got {sorted(got)}")
    if isinstance(want, list) and len(got) != len(want):
        return Check(False, f"expected {len(want)} items, got {len(got)}")
    return _OK
