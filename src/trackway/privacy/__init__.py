"""Privacy: consent purposes, identifier hashing and policies, IP truncation.

A pure library: no I/O, no network, no database, and no function here raises on
the values it is given (wrong types are ignored or give ``None``/``""``).

- :mod:`trackway.privacy.consent` turns every consent signal Trackway receives
  (Commanders Act categories, Google consent mode and the Measurement Protocol
  ``consent`` object, gtag ``consent`` commands, Koalect's ``koalect_consent``
  cookie) into the four purposes of :data:`~trackway.privacy.consent.PURPOSES`.
- :mod:`trackway.privacy.pii` normalises emails and phone numbers, hashes them as
  Commanders Act does (md5 and sha256 of the normalised value, lower-case hex),
  applies the keep / hash / drop policy to plain identifiers and truncates IPs.
- :mod:`trackway.privacy.elsewhere` applies the hash / drop policy everywhere else an
  email or phone sits: an id that is one, Google's ``user_data``, keys naming one, texts
  and URLs.
- :mod:`trackway.privacy.prepare` is what the collector runs on every event before
  storing it: :func:`~trackway.privacy.prepare.prepare` with
  :class:`~trackway.privacy.prepare.PrivacySettings`.
"""
