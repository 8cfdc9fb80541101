import json

import pytest

from latentlab.generator.synthetic.attributes import ATTRIBUTES
from labeler.schema import (UNSURE, SchemaError, default_schema, load_schema, parse_schema, schema_from_json)

GOOD = {"name": "tiny", "attributes": [
    {"name": "blush", "kind": "binary", "options": ["no", "yes"], "help": "cheeks"},
    {"name": "age", "kind": "ordinal", "options": ["child", "teen", "adult"], "keys": ["c", "t", "a"]},
]}


def test_default_schema_matches_the_synthetic_ground_truth():
    schema = default_schema()
    assert schema.name == "anime"
    assert schema.names == list(ATTRIBUTES)
    for a in schema.attributes:
        assert tuple(a.options) == ATTRIBUTES[a.name]
        assert len(a.keys) == len(a.options) and len(set(a.keys)) == len(a.keys)
        assert a.help, f"{a.name} has no help text"
        assert a.kind in ("binary", "ordinal", "categorical")
    assert schema.attribute("blush").kind == "binary" and schema.attribute("blush").options[1] == "yes"
    assert schema.attribute("age").kind == "ordinal"


def test_schema_round_trips_through_json_and_files(tmp_path):
    schema = parse_schema(GOOD)
    assert schema_from_json(schema.to_json()) == schema
    assert schema.attribute("blush").keys == ["1", "2"]  # default keys
    assert schema.attribute("age").key_of("teen") == "t" and schema.attribute("age").key_of(UNSURE) == "0"
    (tmp_path / "s.json").write_text(json.dumps(GOOD))
    assert load_schema(tmp_path / "s.json") == schema


def _with(attr_changes: dict | None = None, **top) -> dict:
    data = json.loads(json.dumps(GOOD))
    data.update(top)
    if attr_changes:
        data["attributes"][1].update(attr_changes)
    return data


@pytest.mark.parametrize("data, words", [
    ([1, 2], "must be a mapping"),
    (_with(colour="x"), "unknown top-level field 'colour'"),
    (_with(name="Bad Name"), "`name` must be a lower-case identifier"),
    (_with(attributes=[]), "non-empty list"),
    (_with({"kind": "ordinl"}), "attribute 'age' has kind 'ordinl'; use one of binary, ordinal, categorical"),
    (_with({"options": ["child"]}), "attribute 'age' needs a list of at least two `options`"),
    (_with({"options": ["child", "teen", "child"], "keys": None}), "lists option 'child' twice"),
    (_with({"options": ["child", False, "adult"]}), "option False which is not text; quote it"),
    (_with({"options": ["child", UNSURE, "adult"]}), "reserved option 'not_sure'"),
    (_with({"options": ["child", "<b>teen</b>", "adult"]}), "has option '<b>teen</b>'"),
    (_with({"keys": ["c", "t"]}), "needs exactly one key per option (3 keys)"),
    (_with({"keys": ["c", "c", "a"]}), "uses key 'c' for two options"),
    (_with({"keys": ["c", "0", "a"]}), "reserved key '0'"),
    (_with({"keys": ["c", "tt", "a"]}), "key 'tt'"),
    (_with({"color": 1}), "attribute 'age' has an unknown field 'color'"),
    (_with({"name": "Age!"}), "needs a `name` in lower case"),
    ({"name": "x", "attributes": [{"name": "a", "kind": "binary", "options": ["p", "q", "r"]}]},
     "binary so it needs exactly two options"),
    ({"name": "x", "attributes": [{"name": "a", "kind": "binary", "options": ["p", "q"]},
                                  {"name": "a", "kind": "binary", "options": ["p", "q"]}]}, "defined twice"),
])
def test_malformed_schemas_get_one_clear_sentence(data, words):
    with pytest.raises(SchemaError) as e:
        parse_schema(data, source="my.yaml")
    message = str(e.value)
    assert message.startswith("my.yaml: ")
    assert words in message
    assert "\n" not in message and "Traceback" not in message


def test_unparseable_and_missing_files_are_refused_with_the_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nattributes:\n  - name: [unclosed\n")
    with pytest.raises(SchemaError, match=r"bad.yaml: the file is not valid YAML \(line \d+"):
        load_schema(bad)
    with pytest.raises(SchemaError, match="does not exist"):
        load_schema(tmp_path / "nope.yaml")


def test_yaml_booleans_as_options_are_caught(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text("name: x\nattributes:\n  - name: blush\n    kind: binary\n    options: [no, yes]\n")
    with pytest.raises(SchemaError, match="option False .* quote it"):
        load_schema(f)


def test_check_values_refuses_unknown_and_incomplete_answers():
    schema = parse_schema(GOOD)
    ok = schema.check_values({"blush": "yes", "age": UNSURE})
    assert ok == {"blush": "yes", "age": UNSURE}
    with pytest.raises(Exception, match="'purple' is not an option of age"):
        schema.check_values({"blush": "yes", "age": "purple"})
    with pytest.raises(Exception, match="unknown attribute 'hair'"):
        schema.check_values({"blush": "yes", "age": "teen", "hair": "red"})
    with pytest.raises(Exception, match="missing age"):
        schema.check_values({"blush": "yes"})
    with pytest.raises(Exception, match="is not an option of blush"):
        schema.check_values({"blush": 1, "age": "teen"})
