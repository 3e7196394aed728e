"""One reader per input format; format detection from content.

Public interface (used by ``cablegate.parse``):

* ``read_inputs(paths) -> Iterator[RawCable | ParseError]``: walks files,
  directories (recursively, sorted) and ``-`` (stdin); detects each file's
  format from its content; yields one ``RawCable`` per cable, or a
  ``ParseError`` (yielded, not raised) for each rejected file or CSV row.
* ``raw_from_text(text, path, reference_id=None) -> RawCable``: one cable from
  a text in any single-cable format; raises ``ParseError``.
"""
