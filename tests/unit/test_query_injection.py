"""Property tests: no user string can change the structure of what we send to Solr.

A user value (filter value, text, product id, a group read from the index) reaches the
parameters either inside a quoted phrase made by :func:`lookalike.solr_syntax.quote`, or as the raw
value of a parameter that local params name by ``$reference``. So, for any hostile value:

* every parameter, with each quoted phrase replaced by a placeholder, is identical to the
  parameters built for the harmless value ``x`` (local params included); and
* each quoted phrase unescapes, by the Lucene grammar's rules, to exactly the user value.
"""

import re
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lookalike.errors import BadRequest
from query.build import Target, build_params, count_params, plugin_can_carry
from query.facets import facet_params
from lookalike.solr.cloud import check_name
from lookalike.solr_syntax import check_identifier, local_params, quote
from query.models import SearchRequest

from test_query_schema import products_schema

SCHEMA = products_schema()
VEC = Target(vector=(0.5, 0.5, 0.5, 0.5), groups=("g",))

HOSTILE = [
    "}", "{!", "{!knn f=vector topK=1}[1,0,0,0]", '"', '\\', '\\"', '" OR *:* OR "', "*:*", "*", "?",
    "OR", "AND", "NOT", "&&", "||", "-", "+", "!", "(", ")", "[* TO *]", ":", "a:b", "$vec", "$q",
    "v=$vec", "}{!lucene}*:*", "\n", "\r\n*:*", "\t", "\u2028", "\u00a0", "日本語", "e\u0301", "🙂",
    "/regex/", "~2", "^10", "_query_:\"{!func}1\"", "{!terms f=id}a,b", "a\\", "\\\\\"", "%00", "\x00",
    "#", "&", "=", ";", "',", "localParams", " leading", "trailing ", "\\u0022",
]
hostile_text = st.one_of(
    st.sampled_from(HOSTILE),
    st.lists(st.sampled_from(list(string.punctuation + " \n\t") + ["OR", "日", "é", "{!", "*:*"]), min_size=1).map("".join),
    st.text(min_size=1, max_size=40),
    st.lists(st.sampled_from(HOSTILE), min_size=1, max_size=4).map("".join),
)


def unquote_all(s: str) -> tuple[str, list[str]]:
    """``s`` with each quoted phrase replaced by ``"…"``, and the phrases' literal values.

    Mirrors the Lucene grammar: ``"`` opens a phrase, ``\\`` escapes the next character
    inside or outside one, and an unescaped ``"`` closes it.
    """
    skeleton, values, i = [], [], 0
    while i < len(s):
        c = s[i]
        if c == '"':
            j, buf = i + 1, []
            while j < len(s) and s[j] != '"':
                if s[j] == "\\":
                    buf.append(s[j + 1])
                    j += 2
                else:
                    buf.append(s[j])
                    j += 1
            assert j < len(s), f"unterminated phrase in {s!r}"
            values.append("".join(buf))
            skeleton.append('"…"')
            i = j + 1
        elif c == "\\":
            skeleton.append(s[i : i + 2])
            i += 2
        else:
            skeleton.append(c)
            i += 1
    return "".join(skeleton), values


def shapes(params: dict, raw_keys: tuple[str, ...] = ()) -> dict:
    out = {}
    for key, value in params.items():
        if key in raw_keys:
            continue
        vals = value if isinstance(value, list) else [value]
        out[key] = [unquote_all(str(v))[0] for v in vals]
    return out


def quoted_values(params: dict) -> list[str]:
    found = []
    for value in params.values():
        for v in value if isinstance(value, list) else [value]:
            found += unquote_all(str(v))[1]
    return found


@given(hostile_text)
def test_quote_is_one_phrase_that_unescapes_to_the_value(value):
    skeleton, values = unquote_all(quote(value))
    assert skeleton == '"…"' and values == [value]


def _request(value: str, **kw) -> SearchRequest:
    return SearchRequest(
        like=(value,),
        filters=[{"field": "color", "values": [value, "plain"]}, {"field": "tags", "values": [value]}],
        variants="exclude",
        facets=("color",),
        min_similarity=0.3,
        **kw,
    )


@settings(max_examples=300)
@given(hostile_text)
def test_hostile_filter_values_ids_and_groups_cannot_change_the_approx_query(value):
    target = Target(vector=VEC.vector, groups=(value,))
    got = build_params(_request(value), SCHEMA, mode="approx", target=target)
    ref = build_params(_request("x"), SCHEMA, mode="approx", target=Target(vector=VEC.vector, groups=("x",)))
    assert shapes(got) == shapes(ref)
    # the value is in every place it should be, and only as a whole phrase
    assert quoted_values(got) == [value if v == "x" else v for v in quoted_values(ref)]


@settings(max_examples=300)
@given(hostile_text)
def test_hostile_ids_reach_the_plugin_only_by_reference(value):
    if not (plugin_can_carry(value) and plugin_can_carry(value + "2")):
        with pytest.raises(BadRequest, match="cannot carry"):
            build_params(_request(value, unlike=(value + "2",)), SCHEMA, mode="exact", target=VEC)
        return
    got = build_params(_request(value, unlike=(value + "2",)), SCHEMA, mode="exact", target=VEC)
    ref = build_params(_request("x", unlike=("x2",)), SCHEMA, mode="exact", target=Target(groups=("x",)))
    assert shapes(got, raw_keys=("like", "unlike")) == shapes(ref, raw_keys=("like", "unlike"))
    assert got["q"] == ref["q"] == (
        "{!lookalike f=vector like=$like unlike=$unlike unlikeWeight=1 minSimilarity=0.3}"
    )
    assert (got["like"], got["unlike"]) == (value, value + "2")
    # planned in Solr (one request): the ids still travel only by reference
    got = build_params(_request(value, unlike=(value + "2",)), SCHEMA, mode="auto", in_solr=True, exact_max_docs=9)
    ref = build_params(_request("x", unlike=("x2",)), SCHEMA, mode="auto", in_solr=True, exact_max_docs=9)
    assert shapes(got, raw_keys=("like", "unlike")) == shapes(ref, raw_keys=("like", "unlike"))
    assert got["q"] == ref["q"] and "like=$like unlike=$unlike" in got["q"] and "mode=auto" in got["q"]
    assert (got["like"], got["unlike"]) == (value, value + "2")


@settings(max_examples=300)
@given(hostile_text)
def test_hostile_text_is_only_quoted_words_in_a_referenced_param(value):
    words = value.split()
    req = SearchRequest(like=("p",), text=value, facets=("color",))
    got = build_params(req, SCHEMA, mode="approx", target=VEC)
    ref = build_params(SearchRequest(like=("p",), text="x", facets=("color",)), SCHEMA, mode="approx", target=VEC)
    if not words:  # blank text is no text
        assert "text" not in got and "rq" not in got
        return
    assert shapes(got, raw_keys=("text",)) == shapes(ref, raw_keys=("text",))
    skeleton, values = unquote_all(got["text"])
    assert skeleton == " ".join(['"…"'] * len(words))
    assert values == words


@settings(max_examples=200)
@given(st.lists(hostile_text, min_size=1, max_size=5, unique=True))
def test_hostile_ids_in_the_facet_and_count_requests(ids):
    req = SearchRequest(like=tuple(ids), facets=("color",))
    got = facet_params(req, SCHEMA, ids)
    skeleton, values = unquote_all(got["fq"][0])
    assert skeleton == "{!lucene}id:(" + " OR ".join(['"…"'] * len(ids)) + ")"
    assert values == ids
    count = count_params(req, SCHEMA)
    skeleton, values = unquote_all(count["fq"][0])
    assert skeleton == "{!lucene tag=filter,exclude}*:* -id:(" + " OR ".join(['"…"'] * len(ids)) + ")"
    assert values == ids


@given(hostile_text)
def test_local_params_refuse_anything_but_plain_tokens(value):
    if re.fullmatch(r"\$[A-Za-z_]\w*|[A-Za-z0-9_.+-]+(,[A-Za-z0-9_.+-]+)*", value, flags=re.ASCII):
        return  # a $reference or plain (comma-separated) tokens are allowed
    with pytest.raises(ValueError):
        local_params("knn", v=value)


@pytest.mark.parametrize("value", ["0\n", "vector\n", "$vec\n"])
def test_a_trailing_newline_is_not_a_plain_token(value):
    """A regex ending in ``$`` also matches before a final newline: the checks use fullmatch."""
    with pytest.raises(ValueError):
        local_params("knn", topK=value)
    with pytest.raises(ValueError):
        check_identifier(value)
    with pytest.raises(BadRequest):
        check_name(value)
