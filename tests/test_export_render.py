"""The shortcuts that make `cablegate export-site` (and the cable pages) cheaper give
what the plain code gives: escaping the cable text, quoting share links, Jinja
attribute lookups (JSON by orjson: tests/test_jsoncodec.py). The whole-page check (the mirror's pages against the live single renders, twins
byte for byte) is tests/test_export.py."""

from __future__ import annotations

from types import SimpleNamespace
from urllib.parse import quote

from hypothesis import given, settings
from hypothesis import strategies as st

TEXT = st.text(alphabet=st.sampled_from(list("aZ9 \n\t&<>'\"¶é—") + ["\U0001f600"]),
               max_size=60)


def _render_piece_by_piece(text: str, spans) -> str:
    """cabletext.render as it was: every piece of text escaped on its own."""
    from cablegate.web.cabletext import escape_text

    out, pos = [], 0
    for span in sorted(spans):
        if span.start < pos:
            continue
        out += [escape_text(text[pos:span.start]), span.before,
                escape_text(text[span.start:span.end]), span.after]
        pos = span.end
    return "".join(out) + escape_text(text[pos:])


@settings(max_examples=400, deadline=None)
@given(TEXT, st.lists(st.tuples(st.integers(0, 70), st.integers(0, 10),
                                st.sampled_from(["", "</b>"])), max_size=8))
def test_render_escapes_once_and_cuts_like_piece_by_piece(text, raw_spans):
    from cablegate.web.cabletext import Span, render

    spans = [Span(start, start + length, f"<b id={start}>", after)
             for start, length, after in raw_spans]
    assert str(render(text, spans)) == _render_piece_by_piece(text, spans)


def test_render_of_a_cable_line_with_spans():
    from cablegate.web.cabletext import Span, render

    text = 'REF: A. 07 "MOSCOW" 123 & <B>\n1. (C) X\'S'
    spans = [Span(5, 9, '<a href="/x">', "</a>"), Span(30, 30, "<a id=p1>¶</a>"),
             Span(10, 25, "<i>", "</i>")]
    html = str(render(text, spans))
    assert html == ('REF: <a href="/x">A. 0</a>7<i> &#34;MOSCOW&#34; 123 &amp;</i> &lt;B&gt;\n'
                    "<a id=p1>¶</a>1. (C) X&#39;S")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40).filter(lambda s: not any(0xD800 <= ord(c) < 0xE000 for c in s)))
def test_share_link_quoting_is_urllibs(text):
    from cablegate.web.site import quote_all

    assert quote_all(text) == quote(text, safe="")


def test_paragraph_and_redaction_patterns_find_what_the_line_anchored_ones_did():
    import re

    from cablegate.web.cabletext import _REDACTION, _RI, paragraph_positions

    body = ("1. (C) First.\n  2 . Second XXXXXX and XXXXX\n3.x\n12. no\n"
            "RUEHMO RUEHMOX XRUEHMO R123 RUEH\n 4. last XXXXXXXXXXXX")
    old_para = re.compile(r"^[ \t]*(?P<num>\d{1,3})[ \t]*\.", re.M)
    expected = [(int(m["num"]), m.start("num"), m.end()) for m in old_para.finditer(body)
                if int(m["num"]) in (1, 2, 3, 4)]
    found = [(n, at, m.end()) for n, at, m in paragraph_positions(body, [])]
    assert found == expected and [n for n, _, _ in found] == [1, 2, 3, 4]
    assert ([m.span() for m in _REDACTION.finditer(body)]
            == [m.span() for m in re.finditer(r"X{6,}", body)])
    old_ri = re.compile(r"(?<![A-Z0-9])R[A-Z]{3,6}(?![A-Z0-9])")
    for text in (body, "RUEHC/SECSTATE", "ARUEHC RUEHC", "RUEHC", "9RUEHC"):
        assert [m.span() for m in _RI.finditer(text)] == [m.span() for m in old_ri.finditer(text)]


def test_dict_attribute_lookups_in_templates_are_jinjas():
    from jinja2 import Environment

    from cablegate.web.site import make_environment

    source = ("{{ d.x }}|{{ d.missing }}|{{ d['items'] }}|{{ d.items is callable }}|"
              "{{ d.get('x') }}|{{ o.x }}|{{ n.x }}|{{ d.keys is callable }}")
    context = {"d": {"x": 1, "items": [2], "keys": 3}, "o": SimpleNamespace(x=4),
               "n": {"x": None}}
    ours = make_environment().from_string(source).render(**context)
    assert ours == Environment().from_string(source).render(**context)
    assert ours == "1||[2]|True|1|4|None|True"


# The row loop _macros.html's cable table had before site.cable_rows wrote the rows.
_ROW_LOOP = """<tbody>
{% for r in rows %}
<tr>
<td class="refid"><a href="{{ r.url }}">{{ r.reference_id }}</a></td>
<td class="subject">{{ r.subject or '' }}</td>
<td class="date">{% if r.created %}<a href="{{ urls.browse_path('date', r.created[:7]) }}">{{ r.created[:10] }}</a>{% endif %}</td>
<td class="date">{% if r.released %}<a href="{{ urls.browse_path('reldate', r.released[:10]) }}">{{ r.released[:10] }}</a>{% endif %}</td>
<td>{% if r.classification %}<a href="{{ urls.browse_path('classification', r.classification) }}">{{ r.classification }}</a>{% endif %}</td>
<td>{% if r.origin %}<a href="{{ urls.browse_path('origin', r.origin) }}">{{ r.origin }}</a>{% endif %}</td>
</tr>
{% endfor %}
</tbody>
"""  # noqa: E501


def test_cable_table_rows_are_the_jinja_loops():
    from markupsafe import Markup

    from cablegate.web.site import make_environment

    env = make_environment()
    rows = [
        {"reference_id": "07MOSCOW2205", "subject": 'A "quoted" <subject> & more',
         "created": "2007-05-14 03:19", "released": "2010-11-28 18:00",
         "classification": "SECRET//NOFORN", "origin": "Embassy Moscow",
         "tags": ["PREL"], "url": "/cable/2007/05/07MOSCOW2205.html"},
        {"reference_id": "09STATE1", "subject": None, "created": None, "released": "",
         "classification": None, "origin": "Secretary of State", "tags": [],
         "url": "/cable/2009/00/09STATE1.html"},
        {"reference_id": "66X1", "subject": Markup("<b>marked</b>"), "created": "1966",
         "url": "/cable/1966/00/66X1.html"},  # keys missing: Jinja's undefined
        {"reference_id": 7, "subject": "é ¶ 'x'", "created": "2001-01-01",
         "released": "2011-08-30 00:00", "classification": "UNCLASSIFIED", "origin": "A&B"},
    ]
    table = env.get_template("_macros.html").module.cable_table(rows)
    expected = env.from_string(_ROW_LOOP).render(rows=rows)
    assert expected in str(table)
    assert str(table).count("<tr>") == len(rows) + 1  # + the head row
    from cablegate.export import _mirror_site

    mirror_env = _mirror_site(None, "").env  # the mirror's memoized urls: same rows
    assert str(mirror_env.get_template("_macros.html").module.cable_table(rows)) == str(table)
