"""Field parsing of the cable text, one module per part of a telegram.

``cablegate.telegram.build_record`` composes them into a Record:

* ``header``: the transmission header (DTG, DE, FM, TO/INFO, precedence).
* ``classification``: the classification line (banner), caveats, the E.O./DECL
  line, Classified By and its reasons, the classification a text states.
* ``pages``: the cleaned copy of the body every other parser reads (page-break
  lines, ¶ marks and the spaces that end lines removed).
* ``subject``: the SUBJECT and TAGS lines.
* ``refs``: the REF list (items as written, cited reference IDs).
* ``paragraphs``: numbered and unnumbered paragraphs, section headings.
* ``summary``: the summary.
* ``signers``: the signature at the end of the body.
* ``identity``: reference ID, origin, created/released.
* ``common``: limits, small text helpers and the regexes several parsers use to
  see where a head element ends.

Every regex is applied to one line, to a bounded slice or has no nested
unbounded quantifiers, so the work is linear in the input size (docs/parsing.md,
docs/performance.md).
"""
